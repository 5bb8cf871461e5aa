module canaryjudge.test/e2eapp

go 1.24
