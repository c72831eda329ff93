// Debian's libopenblas-dev installs cblas.h (with openblas_set_num_threads) on the default include path.
#include <cblas.h>
#include <stddef.h>

// LAPACK's symmetric eigensolver, which libopenblas exports under its Fortran name; declared here because
// lapack.h comes only with a further package (liblapacke-dev). The trailing lengths are the Fortran
// character arguments' hidden lengths, which gfortran-built LAPACK reads and C-built LAPACK ignores.
void dsyevr_(const char *jobz, const char *range, const char *uplo, const blasint *n, double *a,
             const blasint *lda, const double *vl, const double *vu, const blasint *il, const blasint *iu,
             const double *abstol, blasint *m, double *w, double *z, const blasint *ldz, blasint *isuppz,
             double *work, const blasint *lwork, blasint *iwork, const blasint *liwork, blasint *info,
             size_t jobz_length, size_t range_length, size_t uplo_length);
