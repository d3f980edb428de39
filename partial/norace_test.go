//go:build !race

package partial_test

const raceBuild = false
