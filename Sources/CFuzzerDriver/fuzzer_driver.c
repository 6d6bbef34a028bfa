/* Declarations only: see include/fuzzer_driver.h. */
#include "fuzzer_driver.h"
