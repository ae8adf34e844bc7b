# nats.conf, rendered by eventing-manager
server_name: $SERVER_NAME
listen: 0.0.0.0:4222
http: 0.0.0.0:8222
pid_file: "/var/run/nats/nats.pid"
lame_duck_duration: {{Values.lameDuckDuration}}
lame_duck_grace_period: {{Values.lameDuckGracePeriod}}
debug: {{Values.logging.debug}}
trace: {{Values.logging.trace}}
{{#if Values.tls.client}}

# TLS on the client port (certificate from the Secret {{Values.tls.client.secretName}}).
tls {
  cert_file: "/etc/nats-tls/client/tls.crt"
  key_file: "/etc/nats-tls/client/tls.key"
{{#if Values.tls.client.verify}}
  ca_file: "/etc/nats-tls/client/ca.crt"
  verify: true
{{/if}}
}
{{/if}}
{{#if (or (gt Values.cluster.size 1) Values.cluster.routes)}}

cluster {
  name: {{quote (default (fullname) Values.cluster.name)}}
  listen: 0.0.0.0:6222
  no_advertise: true
  connect_retries: 120
{{#if Values.tls.cluster}}
  tls {
    cert_file: "/etc/nats-tls/cluster/tls.crt"
    key_file: "/etc/nats-tls/cluster/tls.key"
    ca_file: "/etc/nats-tls/cluster/ca.crt"
    verify: true
  }
{{/if}}
  routes: [
{{#each (range Values.cluster.size)}}
    "nats://{{fullname}}-{{this}}.{{fullname}}.{{@root.Release.Namespace}}.svc.cluster.local:6222"
{{/each}}
{{#each Values.cluster.routes}}
    {{quote this}}
{{/each}}
  ]
}
{{/if}}
{{#if Values.jetStream.enabled}}

jetstream {
  max_memory_store: {{#if Values.jetStream.memStorage.enabled}}{{natsSize Values.jetStream.memStorage.size}}{{else}}0{{/if}}
  max_file_store: {{#if Values.jetStream.fileStorage.enabled}}{{natsSize Values.jetStream.fileStorage.size}}{{else}}0{{/if}}
  store_dir: "/data"
{{#if Values.jetStream.domain}}
  domain: {{quote Values.jetStream.domain}}
{{/if}}
}
{{/if}}
{{#if (or Values.leafNodes.enabled Values.leafNodes.remotes)}}

leafnodes {
{{#if Values.leafNodes.enabled}}
  listen: "0.0.0.0:{{Values.leafNodes.port}}"
  no_advertise: true
{{#if Values.tls.leafNodes}}
  tls {
    cert_file: "/etc/nats-tls/leafnodes/tls.crt"
    key_file: "/etc/nats-tls/leafnodes/tls.key"
{{#if Values.tls.leafNodes.verify}}
    ca_file: "/etc/nats-tls/leafnodes/ca.crt"
    verify: true
{{/if}}
  }
{{/if}}
{{#if Values.leafNodes.authorization.enabled}}
  authorization {
    user: {{quote (required "leafNodes.authorization.user is required when leaf node authorization is enabled" Values.leafNodes.authorization.user)}}
    password: $LEAFNODE_PASSWORD
    account: {{quote Values.leafNodes.authorization.account}}
  }
{{/if}}
{{/if}}
  remotes: [
{{#each Values.leafNodes.remotes}}
    {
{{#if urlEnvs}}
      # With credentials from a Secret: the URLs are in the environment only.
      urls: [{{#each urlEnvs}}{{#unless @first}}, {{/unless}}${{name}}{{/each}}]
{{else}}
      urls: [{{#each urls}}{{#unless @first}}, {{/unless}}{{quote this}}{{/each}}]
{{/if}}
      account: {{quote (default "$G" account)}}
{{#if credentialsSecret}}
      credentials: "/etc/nats-remotes/{{@index}}/{{credentialsSecret.key}}"
{{/if}}
{{#if tls}}
      tls {
        ca_file: "/etc/nats-remote-tls/{{@index}}/ca.crt"
{{#if tls.clientCertificate}}
        cert_file: "/etc/nats-remote-tls/{{@index}}/tls.crt"
        key_file: "/etc/nats-remote-tls/{{@index}}/tls.key"
{{/if}}
      }
{{/if}}
    }
{{/each}}
  ]
}
{{/if}}

{{#if Values.accounts}}
# Accounts of the CR: the global account ($G) has no JetStream now, and clients without
# credentials {{#if Values.defaultAccount}}use {{quote Values.defaultAccount}} (as the user "$default").{{else}}are refused.{{/if}}
{{else}}
# Clients without credentials use the global account ($G), where JetStream keeps its streams, and
# the system account is "$SYS", where the JetStream cluster keeps its metadata: the layout of Kyma's
# nats-manager (/data/jetstream/$G, /data/jetstream/$SYS), so a taken-over volume is read as is.
{{/if}}
accounts {
  "$SYS" {
    users: [
      {user: admin, password: $ADMIN_PASSWORD}
{{#each Values.systemAccount.users}}
      {user: {{quote user}}, password: ${{passwordEnv}}}
{{/each}}
    ]
  }
{{#each Values.accounts}}
  {{quote name}} {
{{#if jetStream}}
    jetstream: enabled
{{/if}}
    users: [
{{#each users}}
      {user: {{quote user}}, password: ${{passwordEnv}}}
{{/each}}
{{#if (eq name @root.Values.defaultAccount)}}
      {user: "$default"}
{{/if}}
    ]
  }
{{/each}}
}
system_account: "$SYS"
{{#if Values.defaultAccount}}
no_auth_user: "$default"
{{/if}}
