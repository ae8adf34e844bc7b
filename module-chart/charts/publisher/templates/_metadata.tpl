name: {{include "publisher.name" this}}
namespace: {{Release.Namespace}}
labels: {{nindent 2 (include "publisher.labels" this)}}
{{#with (merge Values.global.annotations Values.annotations)}}
annotations: {{nindent 2 (toYaml this)}}
{{else}}{{!-- strict mode: #with needs an else branch for an empty map --}}
{{/with}}
