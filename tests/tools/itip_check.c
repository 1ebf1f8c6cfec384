/*
 * libical's iTIP restriction check, run by the Rust tests (src/itip.rs compiles it on first use).
 *
 *     itip_check FILE.ics
 *
 * Parses the calendar with icalparser_parse_string and fails (exit 1) if the parse left any
 * X-LIC-ERROR property in the tree; then runs icalrestriction_check, which checks each component
 * against the property counts RFC 5546 (iTIP) sets for the calendar's METHOD, and fails if it
 * says no or added any X-LIC-ERROR. A calendar without METHOD fails too: libical would check it
 * against no iTIP table at all. On failure every distinct X-LIC-ERROR is printed on stdout, one a
 * line: `STAGE: COMPONENT: ERROR-TYPE: text`, STAGE being `parse` or `restriction`. Exit 0 and
 * no output when it passes; exit 2 when the file cannot be read.
 */
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_file(const char *path, size_t *length)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t capacity = 65536, used = 0;
    char *text = malloc(capacity + 1);
    size_t got;
    if (text == NULL) {
        fclose(f);
        return NULL;
    }
    while ((got = fread(text + used, 1, capacity - used, f)) > 0) {
        used += got;
        if (used == capacity) {
            capacity *= 2;
            char *bigger = realloc(text, capacity + 1);
            if (bigger == NULL) {
                free(text);
                fclose(f);
                return NULL;
            }
            text = bigger;
        }
    }
    fclose(f);
    text[used] = '\0';
    *length = used;
    return text;
}

/* The lines printed so far: libical 3.0 adds the same X-LIC-ERROR once per property it walks. */
static char **seen = NULL;
static size_t seen_count = 0;

static int print_once(const char *line)
{
    for (size_t i = 0; i < seen_count; i++) {
        if (strcmp(seen[i], line) == 0) {
            return 0;
        }
    }
    char **more = realloc(seen, (seen_count + 1) * sizeof *seen);
    char *copy = strdup(line);
    if (more == NULL || copy == NULL) {
        fputs("out of memory\n", stderr);
        exit(2);
    }
    seen = more;
    seen[seen_count++] = copy;
    fputs(line, stdout);
    return 1;
}

/* Prints each X-LIC-ERROR in the tree under c (each distinct one once), labelled with the
   component that holds it; counts them. */
static int report(icalcomponent *c, const char *stage)
{
    int found = 0;
    for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY); p != NULL;
         p = icalcomponent_get_next_property(c, ICAL_XLICERROR_PROPERTY)) {
        icalparameter *type = icalproperty_get_first_parameter(p, ICAL_XLICERRORTYPE_PARAMETER);
        char line[4096];
        snprintf(line, sizeof line, "%s: %s: %s: %s\n", stage, icalcomponent_kind_to_string(icalcomponent_isa(c)),
                 type != NULL ? icalparameter_enum_to_string(icalparameter_get_xlicerrortype(type)) : "ERROR",
                 icalproperty_get_xlicerror(p));
        found += print_once(line);
    }
    for (icalcomponent *child = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); child != NULL;
         child = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT)) {
        found += report(child, stage);
    }
    return found;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE.ics\n", argv[0]);
        return 2;
    }
    size_t length = 0;
    char *text = read_file(argv[1], &length);
    if (text == NULL) {
        perror(argv[1]);
        return 2;
    }
    if (strlen(text) != length) {
        printf("parse: the file has a NUL octet\n");
        return 1;
    }
    icalerror_set_errors_are_fatal(0);
    icalcomponent *root = icalparser_parse_string(text);
    free(text);
    if (root == NULL) {
        printf("parse: libical found no component (%s)\n", icalerror_strerror(icalerrno));
        return 1;
    }
    if (icalcomponent_isa(root) != ICAL_VCALENDAR_COMPONENT) {
        printf("parse: the top component is %s, not VCALENDAR\n", icalcomponent_kind_to_string(icalcomponent_isa(root)));
        return 1;
    }
    if (report(root, "parse") > 0) {
        return 1;
    }
    /* Without METHOD libical applies no iTIP table at all, and everything passes. */
    if (icalcomponent_get_first_property(root, ICAL_METHOD_PROPERTY) == NULL) {
        printf("itip: VCALENDAR: no METHOD property, so not an iTIP message\n");
        return 1;
    }
    int valid = icalrestriction_check(root);
    int errors = report(root, "restriction");
    icalcomponent_free(root);
    if (!valid || errors > 0) {
        if (errors == 0) {
            printf("restriction: icalrestriction_check said no and gave no reason\n");
        }
        return 1;
    }
    return 0;
}
