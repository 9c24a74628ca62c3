package main

func simulate(tb *runTB, o options) error { return nil }
