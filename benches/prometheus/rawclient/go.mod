module canaryjudge.bench/rawclient

go 1.24
