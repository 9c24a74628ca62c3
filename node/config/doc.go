// Package config is a node's config file (config.toml in its home): the
// FileConfig type with its defaults and validation, the table of keys that
// `myconet config get/set` and the API edit, and the in-place editor that
// keeps a user's comments. It imports no other package of the node.
package config
