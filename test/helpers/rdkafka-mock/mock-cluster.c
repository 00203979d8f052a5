/*
 * A librdkafka mock cluster driven over stdin, for testing Eddy's client against a Kafka
 * server nobody here wrote. Usage: mock-cluster BROKER_COUNT
 * Prints "BOOTSTRAP <host:port,...>" once ready, then reads one command per line and
 * answers each with "OK" or "ERR <message>". Exits when stdin closes.
 *
 * Commands:
 *   topic NAME PARTITIONS REPLICATION       create a topic
 *   errors APIKEY CODE...                   cluster-wide error stack for the next requests
 *   broker-errors BROKER APIKEY CODE:RTT... per-broker errors with response delays (ms)
 *   clear APIKEY                            clear the cluster-wide error stack
 *   down BROKER | up BROKER                 disconnect and refuse / accept connections (-1: all)
 *   rtt BROKER MS                           delay every response of a broker
 *   leader TOPIC PARTITION BROKER           move a partition's leader
 *   coordinator TYPE KEY BROKER             pin a group/transaction coordinator
 *   topic-error TOPIC CODE                  error returned for a topic in Metadata
 *   apiversion APIKEY MIN MAX               limit the versions advertised for an API
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ERRORS 64

static void reply(rd_kafka_resp_err_t err) {
  if (err) printf("ERR %s\n", rd_kafka_err2str(err));
  else printf("OK\n");
  fflush(stdout);
}

int main(int argc, char **argv) {
  int broker_cnt = argc > 1 ? atoi(argv[1]) : 1;
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The handle only hosts the mock cluster; keep its own logging quiet. */
  rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, broker_cnt);
  if (!mc) {
    fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
    return 1;
  }
  printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);

  char line[4096];
  while (fgets(line, sizeof(line), stdin)) {
    char *tok[MAX_ERRORS + 3];
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " \t\r\n", &save); t && n < MAX_ERRORS + 3; t = strtok_r(NULL, " \t\r\n", &save))
      tok[n++] = t;
    if (n == 0) continue;
    const char *cmd = tok[0];
    if (!strcmp(cmd, "topic") && n == 4) {
      reply(rd_kafka_mock_topic_create(mc, tok[1], atoi(tok[2]), atoi(tok[3])));
    } else if (!strcmp(cmd, "errors") && n >= 3) {
      rd_kafka_resp_err_t errs[MAX_ERRORS];
      for (int i = 2; i < n; i++) errs[i - 2] = (rd_kafka_resp_err_t)atoi(tok[i]);
      rd_kafka_mock_push_request_errors_array(mc, (int16_t)atoi(tok[1]), (size_t)(n - 2), errs);
      reply(RD_KAFKA_RESP_ERR_NO_ERROR);
    } else if (!strcmp(cmd, "broker-errors") && n >= 4) {
      /* Pushed one at a time: the va-arg API takes tuples, the stack keeps their order. */
      rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
      for (int i = 3; i < n && !err; i++) {
        int code = 0, rtt = 0;
        sscanf(tok[i], "%d:%d", &code, &rtt);
        err = rd_kafka_mock_broker_push_request_error_rtts(mc, atoi(tok[1]), (int16_t)atoi(tok[2]), 1,
                                                           (rd_kafka_resp_err_t)code, rtt);
      }
      reply(err);
    } else if (!strcmp(cmd, "clear") && n == 2) {
      rd_kafka_mock_clear_request_errors(mc, (int16_t)atoi(tok[1]));
      reply(RD_KAFKA_RESP_ERR_NO_ERROR);
    } else if (!strcmp(cmd, "down") && n == 2) {
      reply(rd_kafka_mock_broker_set_down(mc, atoi(tok[1])));
    } else if (!strcmp(cmd, "up") && n == 2) {
      reply(rd_kafka_mock_broker_set_up(mc, atoi(tok[1])));
    } else if (!strcmp(cmd, "rtt") && n == 3) {
      reply(rd_kafka_mock_broker_set_rtt(mc, atoi(tok[1]), atoi(tok[2])));
    } else if (!strcmp(cmd, "leader") && n == 4) {
      reply(rd_kafka_mock_partition_set_leader(mc, tok[1], atoi(tok[2]), atoi(tok[3])));
    } else if (!strcmp(cmd, "coordinator") && n == 4) {
      reply(rd_kafka_mock_coordinator_set(mc, tok[1], tok[2], atoi(tok[3])));
    } else if (!strcmp(cmd, "topic-error") && n == 3) {
      rd_kafka_mock_topic_set_error(mc, tok[1], (rd_kafka_resp_err_t)atoi(tok[2]));
      reply(RD_KAFKA_RESP_ERR_NO_ERROR);
    } else if (!strcmp(cmd, "apiversion") && n == 4) {
      reply(rd_kafka_mock_set_apiversion(mc, (int16_t)atoi(tok[1]), (int16_t)atoi(tok[2]), (int16_t)atoi(tok[3])));
    } else {
      printf("ERR bad command %s\n", cmd);
      fflush(stdout);
    }
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
