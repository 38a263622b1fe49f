/* gpgme_floor.c: the least any program that encrypts through GPGME 1.18 does, for bench.sh.
 *
 * Usage: gpgme_floor FINGERPRINT <plain >armored
 *
 * One context, armored output, the always trust model, GPGME's gpgconf probe turned off, and
 * one gpgme_op_encrypt_ext from standard input to standard output: nothing else. GPGME still
 * runs `gpg --version` once when the first context is made, before the gpg that encrypts, so
 * this program's time over one plain gpg run is a floor that no GPGME-based filter started per
 * message can go below. bench.sh prints it next to gpgseal's.
 *
 * Built with -DFLOOR_WITH_GMIME (and GMime's flags) it also loads and initialises GMime, the
 * project's other fixed library, with GLib and GIO behind it: the floor for a filter that uses
 * both, as gpgseal does.
 */
#include <gpgme.h>
#include <stdio.h>
#ifdef FLOOR_WITH_GMIME
#include <gmime/gmime.h>
#endif

int main(int argc, char **argv) {
  gpgme_ctx_t ctx;
  gpgme_data_t plain, cipher;
  gpgme_error_t err;

  if (argc != 2) {
    fprintf(stderr, "usage: gpgme_floor FINGERPRINT <plain >armored\n");
    return 64;
  }
#ifdef FLOOR_WITH_GMIME
  g_mime_init();
#endif
  gpgme_set_global_flag("disable-gpgconf", "1");
  if (!gpgme_check_version(NULL)) return 69;
  err = gpgme_new(&ctx);
  if (!err) err = gpgme_set_ctx_flag(ctx, "trust-model", "always");
  if (!err) err = gpgme_data_new_from_fd(&plain, 0);
  if (!err) err = gpgme_data_new_from_fd(&cipher, 1);
  if (!err) {
    gpgme_set_armor(ctx, 1);
    err = gpgme_op_encrypt_ext(ctx, NULL, argv[1], GPGME_ENCRYPT_ALWAYS_TRUST, plain, cipher);
  }
  if (err) {
    fprintf(stderr, "gpgme_floor: %s: %s\n", gpgme_strsource(err), gpgme_strerror(err));
    return 1;
  }
  gpgme_data_release(plain);
  gpgme_data_release(cipher);
  gpgme_release(ctx);
  return 0;
}
