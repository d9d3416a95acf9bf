# End-to-end tests of the nntrain command line (tests/cli/*.sh): bad inputs
# fail with a clear message and the right exit status, a short training run
# is correct and reproducible, and a failure on one MPI rank stops them all.
# Each script takes the nntrain binary and mpiexec and ends with
# "N passed, M failed"; it exits non-zero when a check failed.
set(NN_CLI_ENV
  "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_btl_vader_single_copy_mechanism=none;OPENBLAS_NUM_THREADS=1")
foreach(name bad_input train_smoke mpi_bad_rank)
  add_test(NAME cli_${name}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/${name}.sh $<TARGET_FILE:nntrain> ${MPIEXEC_EXECUTABLE})
  set_tests_properties(cli_${name} PROPERTIES ENVIRONMENT "${NN_CLI_ENV}" TIMEOUT 300)
endforeach()
