// A Kafka client configured only by a client properties file, as any Java application would
// be: `produce <file> <topic> <key> <value>` or `consume <file> <topic> <text>` (prints the
// first record whose value contains <text>, reading every partition from the beginning).
// Run with the Kafka jars on the class path (java's single-file source launcher).
// Prints "ERROR <exception class>: <message>" and exits 3 when Kafka refuses.

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class FileClient {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        try (var in = Files.newInputStream(Path.of(args[1]))) {
            props.load(in);
        }
        try {
            if (args[0].equals("produce")) {
                produce(props, args[2], args[3], args[4]);
            } else {
                consume(props, args[2], args[3]);
            }
        } catch (Exception e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            System.out.println("ERROR " + cause.getClass().getName() + ": " + cause.getMessage());
            System.exit(3);
        }
    }

    static void produce(Properties props, String topic, String key, String value)
            throws Exception {
        props.put("key.serializer", StringSerializer.class.getName());
        props.put("value.serializer", StringSerializer.class.getName());
        props.put("max.block.ms", "60000");
        try (var producer = new KafkaProducer<String, String>(props)) {
            RecordMetadata sent = producer.send(new ProducerRecord<>(topic, key, value)).get();
            System.out.println("SENT " + sent.topic() + "/" + sent.partition() + "@" + sent.offset());
        }
    }

    static void consume(Properties props, String topic, String text) {
        props.put("key.deserializer", StringDeserializer.class.getName());
        props.put("value.deserializer", StringDeserializer.class.getName());
        props.put("enable.auto.commit", "false");
        props.put("default.api.timeout.ms", "60000");
        try (var consumer = new KafkaConsumer<String, String>(props)) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo info : consumer.partitionsFor(topic)) {
                partitions.add(new TopicPartition(topic, info.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long deadline = System.currentTimeMillis() + 180_000;
            while (System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
                    if (record.value() != null && record.value().contains(text)) {
                        System.out.println("RECORD " + record.value());
                        return;
                    }
                }
            }
            System.out.println("NOTHING");
            System.exit(4);
        }
    }
}
