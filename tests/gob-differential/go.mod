module canaryjudge.test/gob-differential

go 1.22
