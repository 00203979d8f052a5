/*
 * End-to-end latency through a Kafka broker at a fixed produce rate, measured with
 * librdkafka. One process produces records stamped with their scheduled send time
 * (CLOCK_MONOTONIC) and consumes them back from the same partition; latency is receive
 * time minus scheduled time, so a producer that falls behind is charged for it.
 *
 * Usage: rdkafka-latency <bootstrap> <topic> <rate/s> <seconds> <record bytes> [warmup seconds]
 * Prints one JSON line: sent, received, and latency and produce-ack percentiles in us.
 *
 * Producer: acks=1, linger.ms=0 (send at once; Kafka 4's default linger adds up to 5 ms).
 * Consumer: the simple consumer API on partition 0 from the end, fetch.wait.max.ms=500.
 */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what, const char *detail) {
  fprintf(stderr, "rdkafka-latency: %s: %s\n", what, detail);
  exit(1);
}

static void set(rd_kafka_conf_t *conf, const char *k, const char *v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) die(k, err);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(int64_t *sorted, long n, double q) {
  if (n == 0) return -1;
  long rank = (long)(q * n + 0.999999) - 1;
  if (rank < 0) rank = 0;
  if (rank >= n) rank = n - 1;
  return sorted[rank] / 1000.0;
}

/* Shared between the producer (main) and consumer threads. */
static int64_t *latency_ns; /* by sequence number; 0 = not received */
static int64_t *ack_ns;     /* by sequence number */
static long total;
static volatile long received;
static volatile int consumer_ready;
static volatile int stop_consumer;
static rd_kafka_topic_t *consumer_topic;
static rd_kafka_t *consumer;

static void *consume_loop(void *arg) {
  (void)arg;
  /* One message at a time: rd_kafka_consume_batch would hold messages until its batch fills. */
  while (!stop_consumer) {
    rd_kafka_message_t *m = rd_kafka_consume(consumer_topic, 0, 100);
    if (!m) continue;
    int64_t t = now_ns();
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      consumer_ready = 1;
    } else if (m->err) {
      fprintf(stderr, "rdkafka-latency: consume error: %s\n", rd_kafka_message_errstr(m));
    } else if (m->len >= 16) {
      int64_t seq, sent;
      memcpy(&seq, m->payload, 8);
      memcpy(&sent, (const char *)m->payload + 8, 8);
      if (seq >= 0 && seq < total && latency_ns[seq] == 0) {
        latency_ns[seq] = t - sent > 0 ? t - sent : 1;
        received++;
      }
    }
    rd_kafka_message_destroy(m);
  }
  return NULL;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  if (m->err || m->len < 16) return;
  int64_t seq, sent;
  memcpy(&seq, m->payload, 8);
  memcpy(&sent, (const char *)m->payload + 8, 8);
  if (seq >= 0 && seq < total) ack_ns[seq] = now_ns() - sent;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: %s <bootstrap> <topic> <rate> <seconds> <record bytes> [warmup seconds]\n", argv[0]);
    return 2;
  }
  const char *bootstrap = argv[1], *topic = argv[2];
  double rate = atof(argv[3]), seconds = atof(argv[4]);
  long size = atol(argv[5]);
  double warmup = argc > 6 ? atof(argv[6]) : 1.0;
  if (size < 16) size = 16;
  total = (long)(rate * seconds);
  long skip = (long)(rate * warmup);
  latency_ns = calloc(total, sizeof(int64_t));
  ack_ns = calloc(total, sizeof(int64_t));
  char err[512];

  rd_kafka_conf_t *cc = rd_kafka_conf_new();
  set(cc, "bootstrap.servers", bootstrap);
  set(cc, "group.id", "rdkafka-latency");
  set(cc, "enable.auto.commit", "false");
  set(cc, "enable.partition.eof", "true");
  set(cc, "fetch.wait.max.ms", "500");
  consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof err);
  if (!consumer) die("consumer", err);
  consumer_topic = rd_kafka_topic_new(consumer, topic, NULL);
  if (rd_kafka_consume_start(consumer_topic, 0, RD_KAFKA_OFFSET_END) == -1)
    die("consume_start", rd_kafka_err2str(rd_kafka_last_error()));
  pthread_t thread;
  pthread_create(&thread, NULL, consume_loop, NULL);

  rd_kafka_conf_t *pc = rd_kafka_conf_new();
  set(pc, "bootstrap.servers", bootstrap);
  set(pc, "acks", "1");
  set(pc, "linger.ms", "0");
  rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);
  rd_kafka_t *producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
  if (!producer) die("producer", err);
  rd_kafka_topic_t *producer_topic = rd_kafka_topic_new(producer, topic, NULL);

  /* Start only once the consumer is fetching at the end of the partition. */
  int64_t deadline = now_ns() + 20000000000LL;
  while (!consumer_ready) {
    if (now_ns() > deadline) die("consumer", "never reached the end of the partition");
    rd_kafka_poll(producer, 10);
  }

  char *payload = calloc(1, size);
  int64_t interval = (int64_t)(1e9 / rate);
  int64_t start = now_ns() + 1000000;
  for (long seq = 0; seq < total; seq++) {
    int64_t due = start + seq * interval;
    struct timespec ts = {.tv_sec = due / 1000000000LL, .tv_nsec = due % 1000000000LL};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    int64_t s = seq;
    memcpy(payload, &s, 8);
    memcpy(payload + 8, &due, 8);
    while (rd_kafka_produce(producer_topic, 0, RD_KAFKA_MSG_F_COPY, payload, size, NULL, 0, NULL) == -1) {
      rd_kafka_poll(producer, 1);
    }
    rd_kafka_poll(producer, 0);
  }
  rd_kafka_flush(producer, 10000);
  deadline = now_ns() + 10000000000LL;
  while (received < total && now_ns() < deadline) {
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  stop_consumer = 1;
  pthread_join(thread, NULL);

  long n = 0, na = 0, missing = 0;
  int64_t *lat = calloc(total, sizeof(int64_t)), *ack = calloc(total, sizeof(int64_t));
  for (long i = skip; i < total; i++) {
    if (latency_ns[i]) lat[n++] = latency_ns[i];
    else missing++;
    if (ack_ns[i]) ack[na++] = ack_ns[i];
  }
  qsort(lat, n, sizeof(int64_t), cmp_i64);
  qsort(ack, na, sizeof(int64_t), cmp_i64);
  double sum = 0;
  for (long i = 0; i < n; i++) sum += lat[i];
  printf("{\"sent\":%ld,\"received\":%ld,\"measured\":%ld,\"missing\":%ld,"
         "\"p50Us\":%.1f,\"p99Us\":%.1f,\"p999Us\":%.1f,\"maxUs\":%.1f,\"meanUs\":%.1f,"
         "\"ackP50Us\":%.1f,\"ackP99Us\":%.1f,\"ackP999Us\":%.1f}\n",
         total, (long)received, n, missing, pct(lat, n, 0.5), pct(lat, n, 0.99), pct(lat, n, 0.999),
         n ? lat[n - 1] / 1000.0 : -1, n ? sum / n / 1000.0 : -1, pct(ack, na, 0.5), pct(ack, na, 0.99),
         pct(ack, na, 0.999));

  rd_kafka_consume_stop(consumer_topic, 0);
  rd_kafka_topic_destroy(consumer_topic);
  rd_kafka_topic_destroy(producer_topic);
  rd_kafka_destroy(producer);
  rd_kafka_destroy(consumer);
  return 0;
}
