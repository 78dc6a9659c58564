// Package actiontest checks the GitHub Action around the ramp binary:
// action.yml matches the configuration model (config.Options) input for
// input, actionlint passes on action.yml and every workflow, the JavaScript
// shim's own tests (node --test) pass, and the workflows keep their supply
// chain rules: third-party actions pinned by commit SHA, checkouts without
// persisted credentials, release.yml's permissions split between jobs and its
// publishing scripts (run against a stub gh) tagging a commit that holds
// action/checksums.json on top of the source commit.
//
// action.yml is generated from config.Options by RenderActionYAML; after
// changing an option, regenerate it with
//
//	go test ./internal/actiontest -run TestActionYAMLMatchesConfig -update
package actiontest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ramp-deploy/ramp/internal/config"
)

// Input is one input of action.yml.
type Input struct {
	Name        string
	Description string
	Default     string
	Required    bool
}

// GitHubTokenDefault is the github-token input's default in action.yml (the
// option itself has none: outside Actions there is no token).
const GitHubTokenDefault = "${{ github.token }}"

// ActionOnlyInputs are the inputs of the action that are not ramp options:
// the JavaScript shim reads them, the binary does not.
var ActionOnlyInputs = []Input{
	{Name: "command", Default: "deploy", Description: "ramp command to run: deploy, promote, rollback, pause, resume, status, plan, validate, or comment (PR comment commands on issue_comment events)"},
	{Name: "version", Description: "ramp release to run, e.g. v1.4.0 (default: the release matching the action's ref); it runs only if its SHA-256 is in action/checksums.json of the action's own commit. \"source\" builds the action's source with the runner's Go, as a branch, SHA or uses: ./ does"},
}

// Outputs are the action's outputs, in order, with their descriptions.
var Outputs = []struct{ Name, Description string }{
	{"result", "outcome: promoted, rolled_back, paused, cancelled or failed (command comment: ignored, refused, done or failed)"},
	{"stable", "revision serving production traffic at the end"},
	{"candidate", "revision that was rolled out"},
	{"weight", "candidate traffic weight at the end, in percent"},
	{"url", "service URL"},
	{"summary", "one-line verdict with the reason"},
	{"verdict", "the comparative judge's verdict: promote (evidence the candidate is no worse than the stable), rollback (the judge, a guardrail or the metric source rolled it back), inconclusive (too few errors to tell; on-inconclusive decided), or none (nothing compared: no stable, no traffic, metrics off, or a command)"},
}

// WantInputs lists every input action.yml must have, in order: command, then
// every config option, then version.
func WantInputs() []Input {
	in := []Input{ActionOnlyInputs[0]}
	for _, o := range config.Options {
		def := o.Default
		if o.Name == "github-token" {
			def = GitHubTokenDefault
		}
		in = append(in, Input{Name: o.Name, Description: o.Usage, Default: def, Required: strings.HasSuffix(o.Usage, "(required)")})
	}
	return append(in, ActionOnlyInputs[1:]...)
}

// RenderActionYAML renders action.yml from WantInputs and Outputs.
func RenderActionYAML() string {
	var b strings.Builder
	b.WriteString(`# Generated from internal/config/options.go: change an option there, then run
#   go test ./internal/actiontest -run TestActionYAMLMatchesConfig -update
name: ramp progressive rollout
description: >-
  Canary, linear and blue-green rollouts with health gates and automatic
  rollback, for Cloud Run or local processes. One static Go binary; commit
  statuses, deployments, a job summary and /ramp PR comment commands.
author: ramp-deploy
branding:
  icon: trending-up
  color: green
runs:
  using: node24
  main: action/main.js
  post: action/post.js
  post-if: always()
inputs:
`)
	section := ""
	for _, in := range WantInputs() {
		sect := "action"
		if o, ok := config.Lookup(in.Name); ok {
			sect = string(o.Group)
		}
		if sect != section {
			section = sect
			if sect == "action" {
				b.WriteString("  # action inputs: read by the JavaScript shim, not by the ramp binary\n")
			} else {
				fmt.Fprintf(&b, "  # %s options\n", sect)
			}
		}
		fmt.Fprintf(&b, "  %s:\n    description: %s\n", in.Name, strconv.Quote(in.Description))
		if in.Required {
			b.WriteString("    required: true\n")
		}
		if in.Default != "" {
			fmt.Fprintf(&b, "    default: %s\n", strconv.Quote(in.Default))
		}
	}
	b.WriteString("outputs:\n")
	for _, o := range Outputs {
		fmt.Fprintf(&b, "  %s:\n    description: %s\n", o.Name, strconv.Quote(o.Description))
	}
	return b.String()
}
