# MPI tests run through a real mpiexec with several ranks on this machine.
# As root, Open MPI needs the two ALLOW_RUN_AS_ROOT variables.
set(NN_MPI_ENV
  "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_btl_vader_single_copy_mechanism=none;OPENBLAS_NUM_THREADS=1")
function(nn_mpi_test name target nprocs)
  add_test(NAME ${name} COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${nprocs}
    --oversubscribe ${MPIEXEC_PREFLAGS} $<TARGET_FILE:${target}> ${ARGN})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${NN_MPI_ENV}" TIMEOUT 300)
endfunction()

nn_mpi_test(test_mpi_fit test_mpi_fit 4)
nn_mpi_test(test_mpi_sync test_mpi_sync 2)
nn_mpi_test(test_mpi_ring test_mpi_ring 4)
nn_mpi_test(test_mpi_metrics test_mpi_metrics 2)
nn_mpi_test(test_mpi_bn test_mpi_bn 4)

add_executable(mpi_stall mpi_stall.c)
target_link_libraries(mpi_stall PRIVATE nntrain_testutil)
add_test(NAME mpi_stall_watchdog COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/mpi_stall.sh
  ${MPIEXEC_EXECUTABLE} $<TARGET_FILE:mpi_stall>)
set_tests_properties(mpi_stall_watchdog PROPERTIES ENVIRONMENT "${NN_MPI_ENV}" TIMEOUT 120)
