/* The declaration is all this target is for: see include/cspawn.h. A C target needs one source file. */
#include "cspawn.h"
