// berth-monitor: placeholder until the monitor lands.
#include <stdio.h>
int main(void) { fputs("berth-monitor: not implemented yet\n", stderr); return 2; }
