# End-to-end test of the Slurm job scripts (tests/slurm/run_jobs.sh): starts
# a private Slurm with two emulated nodes (scripts/slurm_local.sh: two slurmd
# in their own network namespaces, MPI over TCP between them), submits
# jobs/cifar10.sbatch, jobs/rick_augmented.sbatch and jobs/scaling.sbatch
# with `sbatch --wait` in a tiny mode and checks exit statuses, logs,
# checkpoints, resuming, SIGUSR1 (status 75) and requeueing. Skipped (exit
# status 77, reason printed) where Slurm cannot start: not root, no network
# namespaces, Slurm or munge not installed. Runs alone: it uses every core.
add_test(NAME slurm_jobs
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/slurm/run_jobs.sh $<TARGET_FILE:nntrain> ${MPIEXEC_EXECUTABLE})
set_tests_properties(slurm_jobs PROPERTIES
  ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_btl_vader_single_copy_mechanism=none"
  SKIP_RETURN_CODE 77
  TIMEOUT 900
  RUN_SERIAL TRUE
  LABELS slurm)
