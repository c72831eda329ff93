// Debian's libturbojpeg0-dev: the TurboJPEG API reports errors by return value, never by longjmp.
#include <turbojpeg.h>
