/* peak_rss.c: LD_PRELOAD shim with which bench.sh measures one process's own peak RSS.
 *
 * GNU time's %M comes from wait4(), whose ru_maxrss also covers every descendant the child
 * has waited for (gpgseal's gpg), and getrusage(RUSAGE_SELF) still counts the image the
 * process was exec'd from (the shell). VmHWM in /proc/self/status is the high-water mark of
 * this process's own address space and nothing else, so the shim reads it when the process
 * exits normally (return from main or exit()) and writes it, in KiB, to $PEAK_RSS_FILE.
 * A process that ends in _exit() or on a signal writes nothing.
 *
 * It removes LD_PRELOAD and PEAK_RSS_FILE from the environment as soon as it is loaded, so
 * the programs the measured process starts (gpg, gpg-agent) neither load it nor overwrite
 * the report.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char report_path[4096];

__attribute__((constructor)) static void peak_rss_init(void) {
  const char *path = getenv("PEAK_RSS_FILE");
  if (path != NULL && strlen(path) < sizeof report_path) {
    strcpy(report_path, path);
  }
  unsetenv("PEAK_RSS_FILE");
  unsetenv("LD_PRELOAD");
}

static long read_vm_hwm_kib(void) {
  FILE *status = fopen("/proc/self/status", "r");
  if (status == NULL) {
    return -1;
  }
  char line[256];
  long kib = -1;
  while (fgets(line, sizeof line, status) != NULL) {
    if (sscanf(line, "VmHWM: %ld kB", &kib) == 1) {
      break;
    }
  }
  fclose(status);
  return kib;
}

__attribute__((destructor)) static void peak_rss_report(void) {
  if (report_path[0] == '\0') {
    return;
  }
  long kib = read_vm_hwm_kib();  // before fopen below adds its own buffer
  FILE *out = fopen(report_path, "w");
  if (out == NULL) {
    return;
  }
  if (kib >= 0) {
    fprintf(out, "%ld\n", kib);
  }
  fclose(out);
}
