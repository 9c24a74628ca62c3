package store

// SetTestMigrate sets Config.testMigrate for the tests of package store_test.
func SetTestMigrate(cfg *Config, f func(v int) error) { cfg.testMigrate = f }
