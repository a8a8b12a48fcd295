#!/bin/bash
# The compose Kafka service: SASL_SSL (SCRAM-SHA-512 over TLS) for clients, a PLAIN-authenticated
# controller listener inside the container, the StandardAuthorizer denying what no ACL allows.
# Passwords come from /run/secrets (deploy/docker/secrets, mounted read-only), never from the
# environment or the image; SCRAM users (one per <principal>.password) are created when the
# storage is formatted: a tenant added later is added with kafka-configs (docs/security.md). The ACLs are applied by the worker
# (its DOUANE_KAFKA_ACL_ADMIN_PROPERTIES is douane-admin's file), from the policy.
set -euo pipefail
S=/run/secrets
pw() { tr -d '\n' < "$S/$1.password"; }
CONF=/tmp/server.properties
umask 077
cat > "$CONF" <<PROPS
node.id=1
process.roles=broker,controller
controller.quorum.voters=1@localhost:9093
listeners=SASL_SSL://:9092,CONTROLLER://localhost:9093
advertised.listeners=SASL_SSL://kafka:9092
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=SASL_SSL
controller.listener.names=CONTROLLER
log.dirs=/var/lib/kafka/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="douane-admin" password="$(pw douane-admin)";
ssl.keystore.type=PEM
ssl.keystore.location=$S/kafka-broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$S/kafka-ca.pem
ssl.enabled.protocols=TLSv1.3,TLSv1.2
ssl.client.auth=none
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="douane-controller" password="$(pw douane-controller)" user_douane-controller="$(pw douane-controller)";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:douane-admin;User:douane-controller
PROPS
if [ ! -f /var/lib/kafka/data/meta.properties ]; then
  users=()
  for file in "$S"/*.password; do
    name=$(basename "$file" .password)
    [ "$name" = douane-controller ] && continue
    users+=(--add-scram "SCRAM-SHA-512=[name=$name,password=$(pw "$name")]")
  done
  /opt/kafka/bin/kafka-storage.sh format -t "$(/opt/kafka/bin/kafka-storage.sh random-uuid)" \
    -c "$CONF" "${users[@]}"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$CONF"
