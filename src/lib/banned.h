/* Functions that overflow buffers or hide truncation. Use strbuf or snprintf. */
#ifndef FERRY_BANNED_H
#define FERRY_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_in_ferry

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gets
#define gets(x) BANNED(gets)

#endif
