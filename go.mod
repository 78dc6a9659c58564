module github.com/ramp-deploy/ramp

go 1.26

require (
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/sethvargo/go-githubactions v1.3.0 // indirect
)
