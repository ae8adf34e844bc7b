{{toYaml (merge (dict "app.kubernetes.io/name" "nats" "app.kubernetes.io/instance" Release.Name "kyma-project.io/dashboard" "eventing") Values.selectorLabels)}}
