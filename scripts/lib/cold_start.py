"""Cold start of each Lambda binary against a local Lambda Runtime API.

Starts the binary with the environment Lambda gives it (AWS_LAMBDA_RUNTIME_API pointing at a
server here) and times process start → its first `GET /2018-06-01/runtime/invocation/next`:
everything the function does before it can take an event (logging set-up, configuration, SDK
clients). Five starts per function; prints the median and the spread.

Usage: cold_start.py <dir with the binaries> <function>...
"""

import http.server
import os
import statistics
import subprocess
import sys
import threading
import time

RUNS = 5


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    first_next = None  # set per run

    def do_GET(self):  # noqa: N802 (the stdlib's name)
        if self.path.endswith("/runtime/invocation/next"):
            if RuntimeApi.first_next is None:
                RuntimeApi.first_next = time.perf_counter()
            # Hold the request: the function waits for an event that never comes.
            time.sleep(5)
        self.send_response(500)
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    directory, functions = sys.argv[1], sys.argv[2:]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/cold-start",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/27/[$LATEST]cold",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIDCOLDSTART",
        "AWS_SECRET_ACCESS_KEY": "cold-start",
        "AWS_EC2_METADATA_DISABLED": "true",
        "TABLE_NAME": "scaliyo-cold",
        "KMS_KEY_ID": "alias/scaliyo-cold",
        "TRACKING_BASE_URL": "https://t.example",
        "SCHEDULED_EMAIL_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/cold",
        "IMPORTS_BUCKET": "scaliyo-cold-imports",
        "RUST_LOG": "warn",
    })
    print(f"\n{'function':<28} {'median ms':>10} {'min':>8} {'max':>8}")
    for function in functions:
        binary = os.path.join(directory, function)
        samples = []
        for _ in range(RUNS):
            RuntimeApi.first_next = None
            env["AWS_LAMBDA_FUNCTION_NAME"] = function
            started = time.perf_counter()
            process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            deadline = started + 10
            while RuntimeApi.first_next is None and time.perf_counter() < deadline and process.poll() is None:
                time.sleep(0.0005)
            ready = RuntimeApi.first_next
            process.kill()
            _, stderr = process.communicate()
            if ready is None:
                sys.exit(f"{function} never asked for an event: {stderr.decode(errors='replace')[-500:]}")
            samples.append((ready - started) * 1000)
        print(f"{function:<28} {statistics.median(samples):>10.1f} {min(samples):>8.1f} {max(samples):>8.1f}")


if __name__ == "__main__":
    main()
