module npd.test/gotimeoracle

go 1.21
