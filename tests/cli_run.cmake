# Shared by the check_cli*.cmake scripts: run(EXPECTED_EXIT args...) runs the
# CLI (${CLI}), fails the test on another exit code, and leaves its stdout and
# stderr in `out` and `err`.
function(run expect_rc)
  execute_process(COMMAND "${CLI}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL expect_rc)
    message(FATAL_ERROR "tessera ${ARGN}: exit ${rc} (wanted ${expect_rc})\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()
