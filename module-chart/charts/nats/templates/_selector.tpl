app.kubernetes.io/name: nats
app.kubernetes.io/instance: {{Release.Name}}
