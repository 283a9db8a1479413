/* SPDX-License-Identifier: BSD-2-Clause */
/* Exports of a recording for people without portcullis-replay: the text
 * the screen showed, the other asciicast version, and one self-contained
 * HTML file on the asciinema-player bundle that plays offline. */
#ifndef PCL_CASTEXPORT_H
#define PCL_CASTEXPORT_H

#include <stddef.h>
#include <stdio.h>

/* File names of the asciinema-player bundle in the player directory
 * (from the npm package's dist/bundle/). */
#define PCL_CASTEXPORT_PLAYER_JS "asciinema-player.min.js"
#define PCL_CASTEXPORT_PLAYER_CSS "asciinema-player.css"

/*
 * Writes to out the text the screen showed, rendered through a terminal
 * emulator (libvterm): every line that scrolled off the top, then the
 * last screen, each line UTF-8 without trailing blanks. A "#" header
 * gives the session's facts from the recording's header, escaped
 * (pcl_sessquery_escape). Returns 0, or a PCL_ERR_* of the reader or
 * PCL_ERR_IO with why (whylen bytes) filled.
 */
int pcl_castexport_text(const char *path, FILE *out, char *why,
                        size_t whylen);

/*
 * Writes the recording to out as asciicast version (2 or 3): header keys
 * converted (width/height and env.TERM against term.cols/rows/type), the
 * "portcullis" object kept, times absolute (v2) or intervals (v3), v3
 * "x" events as v2 "exit:" markers. The copy has no seal: it is not the
 * file the bastion wrote. Returns as pcl_castexport_text.
 */
int pcl_castexport_cast(const char *path, int version, FILE *out,
                        char *why, size_t whylen);

/*
 * Writes one HTML file that plays the recording offline in a browser:
 * the asciinema-player JS and CSS from player_dir inlined, the recording
 * (as v2) inlined as a JSON string with "<", ">", "&" escaped so it can
 * never end the script element, and the session's facts as escaped HTML.
 * Loads nothing from the network. Returns as pcl_castexport_text, or
 * PCL_ERR_NOTFOUND when the player bundle is missing.
 */
int pcl_castexport_html(const char *path, const char *player_dir,
                        FILE *out, char *why, size_t whylen);

#endif /* PCL_CASTEXPORT_H */
