module github.com/libpgbackup/pgbackup-go

go 1.19
