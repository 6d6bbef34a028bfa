#ifndef CMALLOCCOUNT_H
#define CMALLOCCOUNT_H
/* Heap allocations made by the calling thread since it started: every test binary linking this target has its
   malloc family interposed (the executable's symbols come first), so a test can assert that code allocates nothing. */
unsigned long wgd_thread_allocations(void);
#endif
