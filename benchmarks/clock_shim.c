/* An experiment, never for a deployment: the C library's clock() without its system call.

The `regex` module's `timeout=` reads clock() (the process's CPU time: a system call, about
0.9 us on the benchmark machine) at every match attempt and every 256 steps of its engine.
Loaded with LD_PRELOAD into a benchmark (it then returns 0: no regex timeout can fire), it
shows what that reading costs detection, on text where no timeout fires (the findings are
the same: benchmarks/detection_cpu.py prints their digest):

    gcc -O2 -shared -fPIC -o /tmp/clock_shim.so benchmarks/clock_shim.c
    LD_PRELOAD=/tmp/clock_shim.so PYTHONPATH=$PWD .venv/bin/python \
        benchmarks/detection_cpu.py --third-party --batch 1 --no-parts --without-ner

`time.thread_time`, which the benchmark reads, does not go through clock(). */
#include <time.h>

clock_t clock(void) { return 0; }
