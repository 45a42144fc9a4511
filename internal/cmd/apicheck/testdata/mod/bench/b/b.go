package b

func Bench() {}
