# Warnings applied to tessera's own targets (not to dependencies).
add_library(tessera_warnings INTERFACE)
target_compile_options(tessera_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wconversion -Wno-sign-conversion>
  $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wpedantic>)
if(TESSERA_WARNINGS_AS_ERRORS)
  target_compile_options(tessera_warnings INTERFACE -Werror)
endif()
