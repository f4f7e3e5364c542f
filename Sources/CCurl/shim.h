#ifndef COVATA_CURL_SHIM_H
#define COVATA_CURL_SHIM_H

#include <curl/curl.h>
#include <pthread.h>

/* Naming the calling thread (at most 15 bytes), so `top -H` and profilers show the curl worker. glibc declares
   it only under _GNU_SOURCE, which Swift's Glibc module does not set. */
extern int pthread_setname_np(pthread_t thread, const char *name);
static inline int cp_name_this_thread(const char *name) { return pthread_setname_np(pthread_self(), name); }

/* curl_easy_setopt and friends are C variadics, which Swift cannot call. One typed wrapper per argument type
   keeps the vararg types exactly what curl reads: long, curl_off_t, char*, void*, slist or a callback. */

static inline CURLcode cp_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cp_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cp_setopt_str(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cp_setopt_ptr(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cp_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode cp_setopt_write(CURL *h, CURLoption o, curl_write_callback f) {
    return curl_easy_setopt(h, o, f);
}
static inline CURLcode cp_setopt_read(CURL *h, CURLoption o, curl_read_callback f) {
    return curl_easy_setopt(h, o, f);
}
static inline CURLcode cp_getinfo_long(CURL *h, CURLINFO i, long *out) { return curl_easy_getinfo(h, i, out); }
static inline CURLcode cp_getinfo_private(CURL *h, void **out) { return curl_easy_getinfo(h, CURLINFO_PRIVATE, out); }
static inline CURLMcode cp_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }

/* Named constants that Swift imports awkwardly (macros built from casts). */
static inline long cp_http_version_1_1(void) { return CURL_HTTP_VERSION_1_1; }
static inline size_t cp_writefunc_pause(void) { return CURL_WRITEFUNC_PAUSE; }
static inline size_t cp_readfunc_pause(void) { return CURL_READFUNC_PAUSE; }
static inline size_t cp_readfunc_abort(void) { return CURL_READFUNC_ABORT; }

#endif
