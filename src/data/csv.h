/* Inside the CSV converters (src/data/csv.c: a table with a header row;
 * src/data/csv_sklearn.c: scikit-learn's bundled tables): the reading and
 * field splitting both use. */
#ifndef NNTRAIN_DATA_CSV_H
#define NNTRAIN_DATA_CSV_H

#include "nntrain/convert.h"

/* The whole file as one NUL-terminated malloc'd string (a NUL byte inside
 * is an error: not a text file). */
int csv_read_whole(const char *path, char **out, nn_error *e);
/* Strips blanks at both ends, in place. */
char *csv_trim(char *s);
/* Splits line in place into *fields (grown as needed, *cap entries);
 * returns the count, or -1 after an unterminated quote or text after a
 * closing quote (message in e, naming path:ln). */
int csv_split_fields(char *line, char ***fields, int *cap, const char *path, int ln,
                     nn_error *e);
/* The next record of the text at *p: its next non-blank line, cut in place
 * (a trailing \r dropped) and split into *fields; *ln is that line's number
 * (start it at 0). Returns the field count, 0 at the end of the text, or -1
 * (message in e). */
int csv_next_record(char **p, int *ln, char ***fields, int *cap, const char *path,
                    nn_error *e);
/* nn_convert_csv with o->sklearn (csv_sklearn.c). */
int csv_convert_sklearn(const char *csv, const char *out, const nn_convert_opts *o,
                        nn_convert_stats *st, nn_error *e);

#endif
