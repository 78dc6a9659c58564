package config

import "github.com/ramp-deploy/ramp/gates/datadog"

// datadog reads the datadog-* options into the Datadog source's
// configuration, for service. It checks nothing: the options matter only
// when Datadog is the metrics source, whose constructor (datadog.New)
// names every bad one at once, as Config.Datadog.Validate does.
func (p *parser) datadog(service string) datadog.Config {
	if !p.v.has("datadog-site") { // a command without the gates
		return datadog.Config{}
	}
	return datadog.Config{
		Site:          p.str("datadog-site"),
		APIKey:        p.str("datadog-api-key"),
		AppKey:        p.str("datadog-app-key"),
		RequestsQuery: p.str("datadog-requests-query"),
		ErrorsQuery:   p.str("datadog-errors-query"),
		Service:       service,
	}
}
