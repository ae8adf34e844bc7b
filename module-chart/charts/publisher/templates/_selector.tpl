app.kubernetes.io/name: eventing-publisher-proxy
app.kubernetes.io/instance: {{Release.Name}}
