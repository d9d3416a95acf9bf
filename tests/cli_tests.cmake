# End-to-end tests of the nntrain command line (tests/cli/*.sh): bad inputs
# fail with a clear message and the right exit status, a short training run
# is correct and reproducible, a failure on one MPI rank stops them all, and
# a preempted run (SIGTERM/SIGUSR1) leaves status 75 and no Open MPI banner.
# Each script takes the nntrain binary and mpiexec and ends with
# "N passed, M failed"; it exits non-zero when a check failed.
set(NN_CLI_ENV
  "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_btl_vader_single_copy_mechanism=none;OPENBLAS_NUM_THREADS=1")
foreach(name bad_input train_smoke mpi_bad_rank bench_cli h5_cli resume preempt paste keras_json callbacks sched)
  add_test(NAME cli_${name}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/${name}.sh $<TARGET_FILE:nntrain> ${MPIEXEC_EXECUTABLE})
  set_tests_properties(cli_${name} PROPERTIES ENVIRONMENT "${NN_CLI_ENV}" TIMEOUT 300)
endforeach()

# Deterministic mode (issue 20): the same bits at N = 1..4 (8) ranks and 1..3
# threads, and across a stop at 4 ranks and a resume at 3 (nntrain compare).
# Exit 77 (skipped) without /usr/bin/python3 + h5py, which write its data.
add_test(NAME cli_deterministic
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/deterministic.sh $<TARGET_FILE:nntrain>
    ${MPIEXEC_EXECUTABLE})
set_tests_properties(cli_deterministic PROPERTIES ENVIRONMENT "${NN_CLI_ENV}" TIMEOUT 300
  SKIP_RETURN_CODE 77)
# The same for models with BatchNormalization (chain and functional).
add_test(NAME cli_deterministic_bn
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/deterministic.sh $<TARGET_FILE:nntrain>
    ${MPIEXEC_EXECUTABLE} bn)
set_tests_properties(cli_deterministic_bn PROPERTIES ENVIRONMENT "${NN_CLI_ENV}" TIMEOUT 300
  SKIP_RETURN_CODE 77)

# scripts/accuracy_modes.sh (paired test accuracy per mode and seed) on a tiny
# generated IDX set: its table, --reuse and usage errors.
add_test(NAME cli_accuracy_modes
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/accuracy_modes.sh $<TARGET_FILE:nntrain>)
set_tests_properties(cli_accuracy_modes PROPERTIES ENVIRONMENT "${NN_CLI_ENV}" TIMEOUT 300)

# mixed_bfloat16 (issue 21): a policy spec trains, its checkpoint keeps the
# policy, the emulation gives the same bits, --precision overrides the spec.
# Exit 77 (skipped) without /usr/bin/python3 + h5py, which write its data.
add_test(NAME cli_bf16
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/bf16.sh $<TARGET_FILE:nntrain>)
set_tests_properties(cli_bf16 PROPERTIES ENVIRONMENT "${NN_CLI_ENV}" TIMEOUT 300
  SKIP_RETURN_CODE 77)

# evaluate / predict / analyze / summary of trained model files: the Keras
# fixtures and models trained here, on datasets and on JPEG/PNG folders that
# tests/cli/mkimage.c writes (stb_image_write, so no image tools are needed).
add_executable(nn_mkimage ${CMAKE_CURRENT_SOURCE_DIR}/cli/mkimage.c)
target_link_libraries(nn_mkimage PRIVATE nntrain_core)
add_test(NAME cli_eval_predict
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/eval_predict.sh $<TARGET_FILE:nntrain>
    ${MPIEXEC_EXECUTABLE} $<TARGET_FILE:nn_mkimage>)
# 35 s on 2 idle cores; its MPI cases (oversubscribed, busy-polling ranks)
# slow down steeply on a loaded machine, hence the margin.
set_tests_properties(cli_eval_predict PROPERTIES ENVIRONMENT "${NN_CLI_ENV}" TIMEOUT 900)

# nntrain explain: PNG per image and --raw maps of a CNN and a graph model
# trained here, on 1 and 2 ranks (tests/cli/explain.sh).
add_test(NAME cli_explain
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/explain.sh $<TARGET_FILE:nntrain>
    ${MPIEXEC_EXECUTABLE} $<TARGET_FILE:nn_mkimage>)
set_tests_properties(cli_explain PROPERTIES ENVIRONMENT "${NN_CLI_ENV}" TIMEOUT 600)

# The checkpoint test_checkpoint leaves in the build dir (ckpt_check.h5) and
# the Keras fixtures have what Keras's load_model needs, checked with h5py by
# scripts/check_keras_h5.py (exit 77 = skipped when python3-h5py is missing).
find_program(NN_PYTHON3 python3 HINTS /usr/bin)
if(NN_PYTHON3 AND TEST test_checkpoint)
  set_tests_properties(test_checkpoint PROPERTIES FIXTURES_SETUP ckpt_file)
  add_test(NAME ckpt_keras_check
    COMMAND ${NN_PYTHON3} ${CMAKE_SOURCE_DIR}/scripts/check_keras_h5.py
      ${CMAKE_BINARY_DIR}/ckpt_check.h5
      ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/keras_mlp.h5
      ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/keras_cnn.h5)
  set_tests_properties(ckpt_keras_check PROPERTIES FIXTURES_REQUIRED ckpt_file
    SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()

# The Functional model_config nntrain writes for a real tf.keras 2.4 U-Net
# (test_keras_func leaves it in the build dir as kfunc_real.h5 when
# ../shared/data/keras-real is there) against the one Keras wrote: keys,
# nesting, inbound nodes, weights (scripts/check_keras_func.py; 77 = skipped).
if(NN_PYTHON3 AND TEST test_keras_func)
  set_tests_properties(test_keras_func PROPERTIES FIXTURES_SETUP kfunc_file)
  foreach(d ${CMAKE_SOURCE_DIR}/../shared/data/keras-real ${CMAKE_SOURCE_DIR}/../../shared/data/keras-real)
    if(NOT NN_KERAS_REAL_DIR AND EXISTS ${d})
      get_filename_component(NN_KERAS_REAL_DIR ${d} ABSOLUTE)
    endif()
  endforeach()
  add_test(NAME kfunc_keras_check
    COMMAND ${NN_PYTHON3} ${CMAKE_SOURCE_DIR}/scripts/check_keras_func.py
      ${NN_KERAS_REAL_DIR}/tfkeras240_functional_unet_concat_upsample.h5
      ${CMAKE_BINARY_DIR}/kfunc_real.h5)
  set_tests_properties(kfunc_keras_check PROPERTIES FIXTURES_REQUIRED kfunc_file
    SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()

# Keras files as each writer writes them (tests/fixtures/keras_writers):
# summary totals, predict against the generator's PyTorch outputs.
add_test(NAME cli_keras_writers
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/keras_writers.sh $<TARGET_FILE:nntrain>)
set_tests_properties(cli_keras_writers PROPERTIES ENVIRONMENT "${NN_CLI_ENV}" TIMEOUT 300)

# The seeds' Iris example on python3-sklearn's iris.csv (skipped when absent).
add_test(NAME cli_iris
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/iris.sh $<TARGET_FILE:nntrain>)
set_tests_properties(cli_iris PROPERTIES ENVIRONMENT "${NN_CLI_ENV}" TIMEOUT 300
  SKIP_RETURN_CODE 77)

# Real Keras files from ../shared/data/keras-real (skipped when absent):
# summary totals, and predict against scripts/keras_real_check.py (PyTorch).
add_test(NAME cli_keras_real
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/keras_real.sh $<TARGET_FILE:nntrain>)
set_tests_properties(cli_keras_real PROPERTIES ENVIRONMENT "${NN_CLI_ENV}" TIMEOUT 300
  SKIP_RETURN_CODE 77)

# plot-model (Keras's plot_model through Graphviz): node and edge counts of
# the .dot text against the spec and the summary, PNG/SVG/PDF output, no
# Graphviz on PATH, and a failing dot that must leave nothing behind.
add_test(NAME cli_plot_model
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/plot_model.sh $<TARGET_FILE:nntrain>)
set_tests_properties(cli_plot_model PROPERTIES ENVIRONMENT "${NN_CLI_ENV}" TIMEOUT 120)
