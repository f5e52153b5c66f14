#include "core.h"

struct core core;
