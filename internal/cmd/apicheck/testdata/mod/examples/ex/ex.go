package ex

func Example() {}
