// Lua patterns for string.find, string.match, string.gmatch and string.gsub,
// with the behaviour of Lua 5.4's string library (the same matches, captures,
// results and error messages), written here so that a match can be stopped.
//
// Why not the standard functions: their matcher is a backtracking search in C
// that never reaches a hook, and a pattern can make it run for hours. The trim
// idiom `s:match("^%s*(.-)%s*$")` is quadratic in the length of a run of
// spaces, and `(".-"):rep(3) .. "b"` on 30 000 bytes is cubic; a merchant's
// text can hold either. This matcher counts its steps and looks at the host's
// stop flag every few thousand, so that the time limit (or Ctrl-C) stops it as
// promptly as it stops a Lua loop. No library offers Lua's pattern language
// with such a check, so it is written by hand.
#define _GNU_SOURCE
#include "internal.h"

#include <ctype.h>
#include <string.h>

enum {
    MAX_CAPTURES = 32,  // LUA_MAXCAPTURES
    MAX_DEPTH = 200,    // how deep the matcher may recurse ("pattern too complex")
    CAP_OPEN = -1,      // a capture whose ')' is still ahead
    CAP_POSITION = -2,  // a position capture `()`
};

#define ESC '%'

typedef struct Matcher {
    lua_State *L;
    const char *subject;
    const char *subject_end;
    const char *pattern_end;
    int depth_left;
    int steps_left;
    int level;  // captures started
    struct {
        const char *start;
        ptrdiff_t length;  // or CAP_OPEN, CAP_POSITION
    } captures[MAX_CAPTURES];
} Matcher;

static void matcher_init(Matcher *m, lua_State *L, const char *s, size_t ls, const char *p, size_t lp) {
    m->L = L;
    m->subject = s;
    m->subject_end = s + ls;
    m->pattern_end = p + lp;
    m->steps_left = JR_STOP_CHECK_EVERY;
}

// Before each attempt at a position.
static void matcher_reset(Matcher *m) {
    m->level = 0;
    m->depth_left = MAX_DEPTH;
}

// The pattern byte at `p`, or '\0' at its end (Lua's strings end with one).
static inline unsigned char pat(const Matcher *m, const char *p) {
    return p < m->pattern_end ? (unsigned char)*p : 0;
}

// MARK: - Single characters

// Whether `c` is in the class of `%cl`.
static int in_class(int c, int cl) {
    int yes;
    switch (tolower(cl)) {
    case 'a': yes = isalpha(c); break;
    case 'c': yes = iscntrl(c); break;
    case 'd': yes = isdigit(c); break;
    case 'g': yes = isgraph(c); break;
    case 'l': yes = islower(c); break;
    case 'p': yes = ispunct(c); break;
    case 's': yes = isspace(c); break;
    case 'u': yes = isupper(c); break;
    case 'w': yes = isalnum(c); break;
    case 'x': yes = isxdigit(c); break;
    case 'z': yes = c == 0; break;  // undocumented since Lua 5.2, still in 5.4
    default: return cl == c;  // an escaped character stands for itself
    }
    if (isupper(cl)) yes = !yes;
    return yes;
}

// Whether `c` is in the set `[...]` that starts at `open` and ends at `close` (its ']').
static int in_set(int c, const char *open, const char *close) {
    int wanted = 1;
    const char *p = open + 1;
    if (*p == '^') {
        wanted = 0;
        p++;
    }
    for (; p < close; p++) {
        if (*p == ESC) {
            p++;
            if (in_class(c, (unsigned char)*p)) return wanted;
        } else if (p[1] == '-' && p + 2 < close) {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2]) return wanted;
            p += 2;
        } else if ((unsigned char)*p == c) {
            return wanted;
        }
    }
    return !wanted;
}

// The end of the single-character item at `p` (a character, `%x`, `.` or a set).
static const char *item_end(Matcher *m, const char *p) {
    char c = *p++;
    if (c == ESC) {
        if (p >= m->pattern_end) luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c == '[') {
        if (pat(m, p) == '^') p++;
        do {  // the first character of a set may be ']'
            if (p >= m->pattern_end) luaL_error(m->L, "malformed pattern (missing ']')");
            if (*p++ == ESC && p < m->pattern_end) p++;
        } while (pat(m, p) != ']');
        return p + 1;
    }
    return p;
}

// Counts `cost` steps (about one per character looked at); every
// JR_STOP_CHECK_EVERY, a pending stop is raised.
static inline void spend(Matcher *m, ptrdiff_t cost) {
    if ((m->steps_left -= (int)(cost < JR_STOP_CHECK_EVERY ? cost : JR_STOP_CHECK_EVERY)) <= 0) {
        m->steps_left = JR_STOP_CHECK_EVERY;
        jr_check_stop(m->L);
    }
}

static inline void step(Matcher *m) { spend(m, 1); }

// Whether the subject character at `s` matches the item [p, end). A set
// costs steps in proportion to its length: a set of a million characters is
// a million comparisons a character.
static int item_matches(Matcher *m, const char *s, const char *p, const char *end) {
    if (s >= m->subject_end) return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case ESC: return in_class(c, (unsigned char)p[1]);
    case '[':
        if (end - p > 32) spend(m, (end - p) / 32);
        return in_set(c, p, end - 1);
    default: return (unsigned char)*p == c;
    }
}

// MARK: - The matcher

static const char *match(Matcher *m, const char *s, const char *p);

// `%bxy`: a balanced run from x to y at `s`.
static const char *match_balanced(Matcher *m, const char *s, const char *p) {
    if (p + 1 >= m->pattern_end) luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->subject_end || *s != *p) return NULL;
    char open = p[0], close = p[1];
    int depth = 1;
    while (++s < m->subject_end) {
        step(m);
        if (*s == close) {
            if (--depth == 0) return s + 1;
        } else if (*s == open) {
            depth++;
        }
    }
    return NULL;
}

// `x*` (and `x+` from its second character): the longest run first.
static const char *match_greedy(Matcher *m, const char *s, const char *p, const char *end) {
    ptrdiff_t n = 0;
    while (item_matches(m, s + n, p, end)) n++;
    spend(m, n / 8 + 1);  // a scan costs far less a character than a step
    for (; n >= 0; n--) {
        step(m);
        const char *rest = match(m, s + n, end + 1);
        if (rest != NULL) return rest;
    }
    return NULL;
}

// `x-`: the shortest run first.
static const char *match_lazy(Matcher *m, const char *s, const char *p, const char *end) {
    for (;;) {
        step(m);
        const char *rest = match(m, s, end + 1);
        if (rest != NULL) return rest;
        if (!item_matches(m, s, p, end)) return NULL;
        s++;
    }
}

static const char *open_capture(Matcher *m, const char *s, const char *p, ptrdiff_t what) {
    if (m->level >= MAX_CAPTURES) luaL_error(m->L, "too many captures");
    m->captures[m->level].start = s;
    m->captures[m->level].length = what;
    m->level++;
    const char *rest = match(m, s, p);
    if (rest == NULL) m->level--;
    return rest;
}

static const char *close_capture(Matcher *m, const char *s, const char *p) {
    int open = -1;
    for (int i = m->level - 1; i >= 0; i--) {
        if (m->captures[i].length == CAP_OPEN) {
            open = i;
            break;
        }
    }
    if (open < 0) luaL_error(m->L, "invalid pattern capture");
    m->captures[open].length = s - m->captures[open].start;
    const char *rest = match(m, s, p);
    if (rest == NULL) m->captures[open].length = CAP_OPEN;
    return rest;
}

// The capture a `%1`..`%9` in a pattern or replacement names (0-based).
static int capture_index(Matcher *m, int digit) {
    int i = digit - '1';
    if (i < 0 || i >= m->level || m->captures[i].length == CAP_OPEN) {
        luaL_error(m->L, "invalid capture index %%%d", i + 1);
    }
    return i;
}

// `%1`..`%9` in a pattern: the text of that capture again.
static const char *match_back_reference(Matcher *m, const char *s, int digit) {
    int i = capture_index(m, digit);
    size_t length = (size_t)m->captures[i].length;
    spend(m, (ptrdiff_t)(length / 8) + 1);  // the comparison below looks at up to `length` bytes
    if ((size_t)(m->subject_end - s) >= length && memcmp(m->captures[i].start, s, length) == 0) return s + length;
    return NULL;
}

// Matches the pattern from `p` against the subject from `s`; the end of the
// match, or NULL.
static const char *match(Matcher *m, const char *s, const char *p) {
    if (m->depth_left-- == 0) luaL_error(m->L, "pattern too complex");
    for (;;) {
        step(m);
        if (p == m->pattern_end) break;
        switch (*p) {
        case '(':
            if (pat(m, p + 1) == ')') {
                s = open_capture(m, s, p + 2, CAP_POSITION);
            } else {
                s = open_capture(m, s, p + 1, CAP_OPEN);
            }
            goto done;
        case ')':
            s = close_capture(m, s, p + 1);
            goto done;
        case '$':
            if (p + 1 == m->pattern_end) {
                if (s != m->subject_end) s = NULL;
                goto done;
            }
            break;  // a '$' elsewhere is a character
        case ESC:
            switch (pat(m, p + 1)) {
            case 'b':
                s = match_balanced(m, s, p + 2);
                if (s == NULL) goto done;
                p += 4;
                continue;
            case 'f': {
                p += 2;
                if (pat(m, p) != '[') luaL_error(m->L, "missing '[' after '%%f' in pattern");
                const char *end = item_end(m, p);
                if (end - p > 32) spend(m, (end - p) / 16);  // two looks at the set
                int before = s == m->subject ? 0 : (unsigned char)s[-1];
                int at = s < m->subject_end ? (unsigned char)*s : 0;
                if (!in_set(before, p, end - 1) && in_set(at, p, end - 1)) {
                    p = end;
                    continue;
                }
                s = NULL;
                goto done;
            }
            case '0': case '1': case '2': case '3': case '4':
            case '5': case '6': case '7': case '8': case '9':
                s = match_back_reference(m, s, pat(m, p + 1));
                if (s == NULL) goto done;
                p += 2;
                continue;
            default:
                break;  // a class like %d: a single-character item
            }
            break;
        default:
            break;
        }
        // A single-character item, maybe with a quantifier after it.
        const char *end = item_end(m, p);
        unsigned char quantifier = pat(m, end);
        if (!item_matches(m, s, p, end)) {
            if (quantifier == '*' || quantifier == '?' || quantifier == '-') {  // may match nothing
                p = end + 1;
                continue;
            }
            s = NULL;
            goto done;
        }
        switch (quantifier) {
        case '?': {
            const char *rest = match(m, s + 1, end + 1);
            if (rest != NULL) {
                s = rest;
                goto done;
            }
            p = end + 1;
            continue;
        }
        case '+': s = match_greedy(m, s + 1, p, end); goto done;
        case '*': s = match_greedy(m, s, p, end); goto done;
        case '-': s = match_lazy(m, s, p, end); goto done;
        default:
            s++;
            p = end;
            continue;
        }
    }
done:
    m->depth_left++;
    return s;
}

// MARK: - Results

// Pushes capture `i` (0-based), or the whole match [s, e) when the pattern has
// no captures and `i` is 0; returns its length, or CAP_POSITION when it pushed
// a position (which it always pushes). Otherwise `*text` is set to its text
// and nothing is pushed.
static ptrdiff_t capture_text(Matcher *m, int i, const char *s, const char *e, const char **text) {
    if (i >= m->level) {
        if (i != 0) luaL_error(m->L, "invalid capture index %%%d", i + 1);
        *text = s;
        return e - s;
    }
    ptrdiff_t length = m->captures[i].length;
    *text = m->captures[i].start;
    if (length == CAP_OPEN) luaL_error(m->L, "unfinished capture");
    if (length == CAP_POSITION) lua_pushinteger(m->L, (m->captures[i].start - m->subject) + 1);
    return length;
}

static void push_capture(Matcher *m, int i, const char *s, const char *e) {
    const char *text;
    ptrdiff_t length = capture_text(m, i, s, e, &text);
    if (length != CAP_POSITION) lua_pushlstring(m->L, text, (size_t)length);
}

// Pushes every capture (or the whole match when there are none and `s` is
// given); returns how many.
static int push_captures(Matcher *m, const char *s, const char *e) {
    int n = (m->level == 0 && s != NULL) ? 1 : m->level;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++) push_capture(m, i, s, e);
    return n;
}

// MARK: - The library functions

// A start position given to find, match or gmatch, made 1-based within [1, len + 1].
static size_t start_position(lua_Integer position, size_t length) {
    if (position > 0) return (size_t)position;
    if (position == 0) return 1;
    if (position < -(lua_Integer)length) return 1;
    return length + (size_t)position + 1;
}

static int has_specials(const char *p, size_t length) {
    for (size_t i = 0; i < length; i++) {
        if (p[i] != '\0' && strchr("^$*+?.([%-", p[i]) != NULL) return 1;
    }
    return 0;
}

static int find_or_match(lua_State *L, int find) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_position(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        lua_pushnil(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        // A plain search: glibc's memmem is linear in both lengths.
        const char *at = memmem(s + init, ls - init, p, lp);
        if (at != NULL) {
            lua_pushinteger(L, (at - s) + 1);
            lua_pushinteger(L, (lua_Integer)((at - s) + lp));
            return 2;
        }
        lua_pushnil(L);
        return 1;
    }
    int anchored = lp > 0 && *p == '^';
    if (anchored) {
        p++;
        lp--;
    }
    Matcher m;
    matcher_init(&m, L, s, ls, p, lp);
    const char *from = s + init;
    do {
        matcher_reset(&m);
        step(&m);
        const char *end = match(&m, from, p);
        if (end != NULL) {
            if (find) {
                lua_pushinteger(L, (from - s) + 1);
                lua_pushinteger(L, end - s);
                return push_captures(&m, NULL, NULL) + 2;
            }
            return push_captures(&m, from, end);
        }
    } while (from++ < m.subject_end && !anchored);
    lua_pushnil(L);
    return 1;
}

int jr_str_find(lua_State *L) { return find_or_match(L, 1); }
int jr_str_match(lua_State *L) { return find_or_match(L, 0); }

typedef struct GMatch {
    const char *from;
    const char *pattern;
    const char *last_end;  // the end of the last match: an empty match there is skipped
    Matcher m;
} GMatch;

static int gmatch_next(lua_State *L) {
    GMatch *g = (GMatch *)lua_touserdata(L, lua_upvalueindex(3));
    g->m.L = L;  // the iterator may be called from another coroutine
    for (const char *from = g->from; from <= g->m.subject_end; from++) {
        matcher_reset(&g->m);
        step(&g->m);
        const char *end = match(&g->m, from, g->pattern);
        if (end != NULL && end != g->last_end) {
            g->from = g->last_end = end;
            return push_captures(&g->m, from, end);
        }
    }
    return 0;
}

int jr_str_gmatch(lua_State *L) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_position(luaL_optinteger(L, 3, 1), ls) - 1;
    lua_settop(L, 2);  // the subject and the pattern stay alive as upvalues
    GMatch *g = (GMatch *)lua_newuserdatauv(L, sizeof(GMatch), 0);
    if (init > ls) init = ls + 1;  // after the end: nothing to find
    matcher_init(&g->m, L, s, ls, p, lp);
    g->from = s + init;
    g->pattern = p;
    g->last_end = NULL;
    lua_pushcclosure(L, gmatch_next, 3);
    return 1;
}

// Appends the replacement string (argument 3) for the match [s, e), with its
// `%0`..`%9` and `%%`.
static void add_replacement_string(Matcher *m, luaL_Buffer *b, const char *s, const char *e) {
    lua_State *L = m->L;
    size_t length;
    const char *r = lua_tolstring(L, 3, &length);
    const char *esc;
    while ((esc = memchr(r, ESC, length)) != NULL) {
        luaL_addlstring(b, r, (size_t)(esc - r));
        esc++;
        if (*esc == ESC) {
            luaL_addchar(b, ESC);
        } else if (*esc == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit((unsigned char)*esc)) {
            const char *text;
            ptrdiff_t n = capture_text(m, *esc - '1', s, e, &text);
            if (n == CAP_POSITION) {
                luaL_addvalue(b);
            } else {
                luaL_addlstring(b, text, (size_t)n);
            }
        } else {
            luaL_error(L, "invalid use of '%c' in replacement string", ESC);
        }
        length -= (size_t)(esc + 1 - r);
        r = esc + 1;
    }
    luaL_addlstring(b, r, length);
}

// Appends what replaces the match [s, e); whether it changed the text.
static int add_replacement(Matcher *m, luaL_Buffer *b, const char *s, const char *e, int kind) {
    lua_State *L = m->L;
    if (kind == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = push_captures(m, s, e);
        lua_call(L, n, 1);
    } else if (kind == LUA_TTABLE) {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        add_replacement_string(m, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) {  // nil or false: the match stays
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1)) return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

int jr_str_gsub(lua_State *L) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int kind = lua_type(L, 3);
    lua_Integer most = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(L, kind == LUA_TNUMBER || kind == LUA_TSTRING || kind == LUA_TFUNCTION || kind == LUA_TTABLE, 3,
                     "string/function/table");
    int anchored = lp > 0 && *p == '^';
    if (anchored) {
        p++;
        lp--;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    Matcher m;
    matcher_init(&m, L, s, ls, p, lp);
    const char *from = s;
    const char *last_end = NULL;
    lua_Integer n = 0;
    int changed = 0;
    while (n < most) {
        matcher_reset(&m);
        step(&m);
        const char *end = match(&m, from, p);
        if (end != NULL && end != last_end) {
            n++;
            changed = add_replacement(&m, &b, from, end, kind) | changed;
            from = last_end = end;
        } else if (from < m.subject_end) {
            luaL_addchar(&b, *from++);
        } else {
            break;
        }
        if (anchored) break;
    }
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, from, (size_t)(m.subject_end - from));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}
