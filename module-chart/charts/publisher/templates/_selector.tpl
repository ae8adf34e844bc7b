{{!-- As Kyma's eventing-manager selects its publisher. --}}
app.kubernetes.io/name: {{include "publisher.name" this}}
app.kubernetes.io/instance: eventing
kyma-project.io/dashboard: eventing
