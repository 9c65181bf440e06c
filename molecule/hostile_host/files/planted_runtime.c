/*
 * THE ATTACKER'S BINARY, for the hostile_host scenario only.
 *
 * An unprivileged user (eve) plants this program under a runtime's binary name (ollama,
 * llama-server) in a directory she controls and runs it. Like the real Go and C++ binaries it is
 * one native executable, so /proc/<pid>/exe names the planted file itself and /proc/<pid>/comm
 * its name. It listens where the runtime would (OLLAMA_HOST, else --host/--port) and answers every
 * HTTP request with 200 and a body that says what it is.
 *
 * Its payload is what a real attacker would put there: run with a version flag, it records who ran
 * it in /var/tmp/aihost-pwned-<name>. Root running it (an audit's `<exe> --version` probe) leaves
 * uid=0 there; the test asserts that no such file exists after the audit.
 *
 * Built on the controller: gcc -static -O2 -o planted_runtime planted_runtime.c
 */
#include <arpa/inet.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char reply[] =
    "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nX-Aihost-Standin: planted\r\n\r\n"
    "ATTACKER'S BINARY (aihost hostile_host test)\n";

int main(int argc, char **argv) {
    const char *name = basename(argv[0]);
    char host[64] = "127.0.0.1";
    int port = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--version") || !strcmp(argv[i], "version")) {
            char path[256];
            snprintf(path, sizeof path, "/var/tmp/aihost-pwned-%s", name);
            FILE *proof = fopen(path, "a");
            if (proof) {
                fprintf(proof, "uid=%d euid=%d\n", (int)getuid(), (int)geteuid());
                fclose(proof);
            }
            printf("%s version 9.9.9\n", name);
            return 0;
        }
        if (!strcmp(argv[i], "--host") && i + 1 < argc)
            snprintf(host, sizeof host, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = atoi(argv[++i]);
    }
    const char *ollama_host = getenv("OLLAMA_HOST");
    if (ollama_host && strchr(ollama_host, ':')) {
        snprintf(host, sizeof host, "%.*s", (int)(strchr(ollama_host, ':') - ollama_host), ollama_host);
        port = atoi(strchr(ollama_host, ':') + 1);
    }
    if (port <= 0) {
        fprintf(stderr, "%s: no port (set OLLAMA_HOST=H:P or --host H --port P)\n", name);
        return 2;
    }
    int server = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1 ||
        bind(server, (struct sockaddr *)&address, sizeof address) != 0 || listen(server, 16) != 0) {
        perror(name);
        return 1;
    }
    for (;;) {
        int client = accept(server, NULL, NULL);
        if (client < 0)
            continue;
        char request[2048];
        if (read(client, request, sizeof request) > 0 && write(client, reply, sizeof reply - 1) < 0)
            perror(name);
        close(client);
    }
}
