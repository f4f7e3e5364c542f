/* The floor libcurl sets: the upstream side of covata-proxy's job alone. A libcurl multi loop sends `requests` GETs
 * over `connections` keep-alive connections, each easy handle reset and set up with the options covata-proxy's
 * CurlTransfer sets, with the headers a curl client's request carries once forwarded (User-Agent, Accept and the
 * bearer token), and throws the answers away. bench/instructions counts it under callgrind. Over TLS (an https
 * BASE), it verifies the upstream against CAFILE, as covata-proxy does with `tls.caFile`.
 *   curl-floor BASE REQUESTS CONNECTIONS TOKEN [CAFILE]     (BASE: http://127.0.0.1:PORT or https://localhost:PORT) */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t discard(char *data, size_t size, size_t count, void *user) {
    (void)data; (void)user;
    return size * count;
}

static void setup(CURL *easy, const char *base, const char *ca, long index, struct curl_slist *headers) {
    char url[256];
    snprintf(url, sizeof url, "%s/r%ld", base, index);
    curl_easy_reset(easy);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(easy, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 0L);
    curl_easy_setopt(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, discard);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    if (ca) curl_easy_setopt(easy, CURLOPT_CAINFO, ca);
}

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: curl-floor BASE REQUESTS CONNECTIONS TOKEN [CAFILE]\n");
        return 2;
    }
    const char *base = argv[1], *ca = argc == 6 ? argv[5] : NULL;
    long requests = atol(argv[2]), connections = atol(argv[3]);
    char authorization[4096];
    snprintf(authorization, sizeof authorization, "Authorization: Bearer %s", argv[4]);
    struct curl_slist *headers = curl_slist_append(NULL, "User-Agent: curl/7.88.1");
    headers = curl_slist_append(headers, "Accept: */*");
    headers = curl_slist_append(headers, authorization);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, connections);
    CURL **easies = calloc((size_t)connections, sizeof *easies);
    long started = 0, finished = 0, failed = 0;
    for (long i = 0; i < connections && started < requests; i++) {
        easies[i] = curl_easy_init();
        setup(easies[i], base, ca, started++, headers);
        curl_multi_add_handle(multi, easies[i]);
    }
    while (finished < requests) {
        int running = 0, queued = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *message;
        while ((message = curl_multi_info_read(multi, &queued))) {
            if (message->msg != CURLMSG_DONE) continue;
            CURL *easy = message->easy_handle;
            long status = 0;
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
            if (message->data.result != CURLE_OK || status != 200) failed++;
            finished++;
            curl_multi_remove_handle(multi, easy);
            if (started < requests) {
                setup(easy, base, ca, started++, headers);
                curl_multi_add_handle(multi, easy);
            }
        }
        if (finished < requests) curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    printf("%ld requests, %ld failed\n", requests, failed);
    return failed ? 1 : 0;
}
