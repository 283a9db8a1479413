/* SPDX-License-Identifier: BSD-2-Clause */
/* A QR code (ISO/IEC 18004, by libqrencode) drawn with UTF-8 half blocks,
 * for the verification URI in the sign-in prompt. */
#ifndef PCL_QR_H
#define PCL_QR_H

/*
 * Encodes text (error correction level L, 8-bit mode) and draws it, two
 * module rows per text line, with a quiet zone of 2 modules. Light modules
 * are the drawn ones (U+2588, U+2580, U+2584), as qrencode -t UTF8 does,
 * so the code reads right on a dark terminal. Returns 0 with *out an owned
 * string of lines ending in "\n", PCL_ERR_TOOBIG when the text does not
 * fit a QR code, PCL_ERR_NOMEM.
 */
int pcl_qr_render(const char *text, char **out);

#endif /* PCL_QR_H */
