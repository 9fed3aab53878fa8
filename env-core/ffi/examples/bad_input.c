/*
 * Bad input through env-core's C ABI, from C: each call below must return the expected error
 * code and leave the object's bytes as they were (memcmp with a copy taken before the call).
 * Exits 0 when every check passes, 1 otherwise; prints "N passed, M failed".
 *
 * Build like examples/simulator.c (tools/check-firmware.sh does, and runs it under valgrind).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env_core.h"

/* Objects hold Rust values whose padding bytes the library never writes; memcheck tracks them
   as undefined, so comparing whole objects with memcmp would be reported. Under valgrind the
   compared bytes are declared defined first (a no-op elsewhere). */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif
#ifndef VALGRIND_MAKE_MEM_DEFINED
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)(p), (void)(n))
#endif

static int passed, failed;

/* Snapshot of an object, taken before a call that must fail. */
static unsigned char before[sizeof(EcCbAgent)];

#define SNAP(obj) (VALGRIND_MAKE_MEM_DEFINED((obj), sizeof *(obj)), memcpy(before, (obj), sizeof *(obj)))

/* Checks the status of `call` and that `obj` is byte-for-byte unchanged since SNAP(obj). */
#define EXPECT_UNCHANGED(obj, want, call)                                                          \
    do {                                                                                           \
        SNAP(obj);                                                                                 \
        EcStatus got_ = (call);                                                                    \
        VALGRIND_MAKE_MEM_DEFINED((obj), sizeof *(obj));                                           \
        int same_ = memcmp(before, (obj), sizeof *(obj)) == 0;                                     \
        if (got_ == (want) && same_) {                                                             \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            printf("FAIL line %d: %s -> %s (want %s)%s\n", __LINE__, #call, ec_status_name(got_),  \
                   ec_status_name(want), same_ ? "" : ", object changed");                         \
        }                                                                                          \
    } while (0)

#define EXPECT(want, call)                                                                         \
    do {                                                                                           \
        EcStatus got_ = (call);                                                                    \
        if (got_ == (want)) {                                                                      \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            printf("FAIL line %d: %s -> %s (want %s)\n", __LINE__, #call, ec_status_name(got_),    \
                   ec_status_name(want));                                                          \
        }                                                                                          \
    } while (0)

static EcMab mab, mab_copy, zeroed_mab;
static EcBanditAgent agent;
static EcTtt ttt;
static EcTttPlayer player;
static EcCb cb, cb_copy;
static EcCbAgent lin;
static uint64_t raw[sizeof(EcMab) / 8 + 1];

static void mab_checks(void) {
    EcMabConfig c = {3, 2, EC_DIST_GAUSSIAN, 1.0, EC_LABELS_BUTTONS};
    EXPECT(EC_STATUS_NULL_POINTER, ec_mab_init(NULL, &c, 1));
    EXPECT_UNCHANGED(&zeroed_mab, EC_STATUS_NULL_POINTER, ec_mab_init(&zeroed_mab, NULL, 1));
    EXPECT_UNCHANGED(&zeroed_mab, EC_STATUS_NOT_INITIALIZED, ec_mab_reset(&zeroed_mab, 1));
    EcMab *odd = (EcMab *)((unsigned char *)raw + 1);
    EXPECT(EC_STATUS_MISALIGNED, ec_mab_init(odd, &c, 1));
    EXPECT(EC_STATUS_OK, ec_mab_init(&mab, &c, 1));
    EcMabConfig bad = c;
    bad.arms = 33;
    EXPECT_UNCHANGED(&mab, EC_STATUS_OUT_OF_RANGE, ec_mab_init(&mab, &bad, 1));
    memcpy(&mab_copy, &mab, sizeof mab);
    EXPECT_UNCHANGED(&mab_copy, EC_STATUS_MOVED, ec_mab_reset(&mab_copy, 1));

    EcMabStep step;
    EXPECT_UNCHANGED(&mab, EC_STATUS_INVALID_ACTION, ec_mab_step(&mab, 3, &step));
    EXPECT_UNCHANGED(&mab, EC_STATUS_NULL_POINTER, ec_mab_step(&mab, 0, NULL));
    EXPECT(EC_STATUS_OK, ec_mab_step(&mab, 0, &step));
    EXPECT(EC_STATUS_OK, ec_mab_step(&mab, 1, &step));
    EXPECT_UNCHANGED(&mab, EC_STATUS_EPISODE_OVER, ec_mab_step(&mab, 0, &step));

    char small[2] = {'#', '#'};
    size_t len = 0;
    EXPECT_UNCHANGED(&mab, EC_STATUS_BUFFER_TOO_SMALL, ec_mab_label(&mab, 0, small, sizeof small, &len));
    if (len < 3 || small[0] != '#') { failed++; printf("FAIL: label length %zu or buffer touched\n", len); } else passed++;
    size_t arm = 99;
    EXPECT_UNCHANGED(&mab, EC_STATUS_UNKNOWN_LABEL, ec_mab_find_label(&mab, "nope", 4, &arm));
    EXPECT_UNCHANGED(&mab, EC_STATUS_INVALID_UTF8, ec_mab_find_label(&mab, "\xff", 1, &arm));
    EXPECT_UNCHANGED(&mab, EC_STATUS_NULL_POINTER, ec_mab_find_label(&mab, NULL, 3, &arm));
    const char *answer = "so ACTION=ultraviolet";
    EXPECT_UNCHANGED(&mab, EC_STATUS_NO_VALID_ACTION, ec_mab_parse_action(&mab, answer, strlen(answer), &arm));

    EcPromptOptions o;
    EXPECT(EC_STATUS_OK, ec_prompt_options_default(&o));
    size_t actions[2] = {0, 2}, bad_actions[2] = {0, 3};
    double rewards[2] = {0.5, 1.0};
    char buf[4] = {'#', '#', '#', '#'};
    EXPECT_UNCHANGED(&mab, EC_STATUS_BUFFER_TOO_SMALL, ec_mab_prompt(&mab, &o, actions, rewards, 2, buf, sizeof buf, &len));
    if (len < 100 || buf[0] != '#') { failed++; printf("FAIL: prompt length %zu or buffer touched\n", len); } else passed++;
    static char big[4096];
    EXPECT_UNCHANGED(&mab, EC_STATUS_INVALID_ACTION, ec_mab_prompt(&mab, &o, bad_actions, rewards, 2, big, sizeof big, &len));
    EXPECT_UNCHANGED(&mab, EC_STATUS_NULL_POINTER, ec_mab_prompt(&mab, &o, NULL, rewards, 2, big, sizeof big, &len));
    o.output = 42;
    EXPECT_UNCHANGED(&mab, EC_STATUS_OUT_OF_RANGE, ec_mab_prompt(&mab, &o, actions, rewards, 2, big, sizeof big, &len));
}

static void agent_checks(void) {
    EcBanditAgentConfig c = {EC_AGENT_UCB, 1.0, 0.0, 0.0, 0, 0.0};
    EXPECT(EC_STATUS_OK, ec_bandit_agent_init(&agent, &c));
    size_t arm;
    EXPECT_UNCHANGED(&agent, EC_STATUS_EMPTY, ec_bandit_agent_select(&agent, &arm));
    EXPECT_UNCHANGED(&agent, EC_STATUS_OUT_OF_RANGE, ec_bandit_agent_reset(&agent, 0, 1));
    EXPECT(EC_STATUS_OK, ec_bandit_agent_reset(&agent, 3, 1));
    EXPECT_UNCHANGED(&agent, EC_STATUS_INVALID_ACTION, ec_bandit_agent_update(&agent, 3, 1.0));
    EXPECT_UNCHANGED(&agent, EC_STATUS_NOT_FINITE, ec_bandit_agent_update(&agent, 0, 0.0 / 0.0));
    EXPECT_UNCHANGED(&agent, EC_STATUS_NULL_POINTER, ec_bandit_agent_select(&agent, NULL));
    c.kind = 99;
    EXPECT_UNCHANGED(&agent, EC_STATUS_OUT_OF_RANGE, ec_bandit_agent_init(&agent, &c));
}

static void ttt_checks(void) {
    EcTttConfig c = {EC_PLAYER_MINIMAX, 0, 0.0, EC_FIRST_AGENT};
    EXPECT(EC_STATUS_OK, ec_ttt_init(&ttt, &c));
    EcTttStep step = {0};
    EXPECT_UNCHANGED(&ttt, EC_STATUS_INVALID_ACTION, ec_ttt_step(&ttt, 9, &step));
    EXPECT(EC_STATUS_OK, ec_ttt_step(&ttt, 4, &step));
    EXPECT_UNCHANGED(&ttt, EC_STATUS_ILLEGAL_MOVE, ec_ttt_step(&ttt, 4, &step));
    size_t pos;
    EXPECT_UNCHANGED(&ttt, EC_STATUS_ILLEGAL_MOVE, ec_ttt_parse_action(&ttt, "ACTION=4", 8, &pos));
    char board[9];
    size_t len;
    EXPECT_UNCHANGED(&ttt, EC_STATUS_BUFFER_TOO_SMALL, ec_ttt_board(&ttt, board, sizeof board, &len));
    uint8_t moves[9];
    size_t n;
    while (!step.terminated) {
        EXPECT(EC_STATUS_OK, ec_ttt_legal_moves(&ttt, moves, 9, &n));
        EXPECT(EC_STATUS_OK, ec_ttt_step(&ttt, moves[0], &step));
    }
    EXPECT_UNCHANGED(&ttt, EC_STATUS_EPISODE_OVER, ec_ttt_step(&ttt, 0, &step));
    c.opponent = EC_PLAYER_MCTS; /* 0 simulations */
    EXPECT_UNCHANGED(&ttt, EC_STATUS_OUT_OF_RANGE, ec_ttt_init(&ttt, &c));

    EcTttPlayerConfig p = {EC_PLAYER_MCTS, 50, 0.0};
    EXPECT(EC_STATUS_OK, ec_ttt_player_init(&player, &p, 1));
    EXPECT_UNCHANGED(&player, EC_STATUS_EPISODE_OVER, ec_ttt_player_choose(&player, "111220000", 9, 2, &pos));
    EXPECT_UNCHANGED(&player, EC_STATUS_OUT_OF_RANGE, ec_ttt_player_choose(&player, "100020000", 9, 3, &pos));
    EXPECT_UNCHANGED(&player, EC_STATUS_NULL_POINTER, ec_ttt_player_choose(&player, "100020000", 9, 1, NULL));
}

static void cb_checks(void) {
    EcCbConfig c = {20, 5, 3, 0.5, 4, 3};
    EcCbConfig bad = c;
    bad.dim = 6;
    EXPECT(EC_STATUS_OK, ec_cb_init(&cb, &c));
    EXPECT_UNCHANGED(&cb, EC_STATUS_OUT_OF_RANGE, ec_cb_init(&cb, &bad));
    size_t user;
    EXPECT(EC_STATUS_OK, ec_cb_reset(&cb, 2, &user));
    EcCbStep step;
    EXPECT_UNCHANGED(&cb, EC_STATUS_INVALID_ACTION, ec_cb_step(&cb, 5, &step));
    double ctx[3];
    size_t dim;
    EXPECT_UNCHANGED(&cb, EC_STATUS_BUFFER_TOO_SMALL, ec_cb_context(&cb, ctx, 2, &dim));
    size_t arm;
    EXPECT_UNCHANGED(&cb, EC_STATUS_UNKNOWN_LABEL, ec_cb_find_movie(&cb, "No Such Film (1900)", 19, &arm));
    for (int i = 0; i < 3; i++) EXPECT(EC_STATUS_OK, ec_cb_step(&cb, 0, &step));
    EXPECT_UNCHANGED(&cb, EC_STATUS_EPISODE_OVER, ec_cb_step(&cb, 0, &step));
    memcpy(&cb_copy, &cb, sizeof cb);
    EXPECT_UNCHANGED(&cb_copy, EC_STATUS_MOVED, ec_cb_reset(&cb_copy, 1, &user));

    EcCbAgentConfig a = {EC_CB_AGENT_LINUCB, 0.5, 0};
    EXPECT(EC_STATUS_OK, ec_cb_agent_init(&lin, &a));
    EXPECT(EC_STATUS_OK, ec_cb_agent_reset(&lin, 5, 3, 1));
    EXPECT_UNCHANGED(&lin, EC_STATUS_SHAPE_MISMATCH, ec_cb_agent_select(&lin, ctx, 2, &arm));
    EXPECT_UNCHANGED(&lin, EC_STATUS_INVALID_ACTION, ec_cb_agent_update(&lin, 5, ctx, 3, 1.0));
}

static void metric_checks(void) {
    double means[3] = {0.1, 0.5, 0.9}, out[3] = {7, 7, 7}, total = 7;
    size_t actions[3] = {0, 3, 1};
    EXPECT(EC_STATUS_INVALID_ACTION, ec_cumulative_regret(means, 3, actions, 3, out, 3, &total));
    EXPECT(EC_STATUS_SHAPE_MISMATCH, ec_cumulative_regret(means, 3, actions, 3, out, 2, &total));
    EXPECT(EC_STATUS_NULL_POINTER, ec_coverage_curve(3, NULL, 3, out, 3, &total));
    if (out[0] != 7 || total != 7) { failed++; printf("FAIL: a failed metric wrote its output\n"); } else passed++;
}

int main(void) {
    mab_checks();
    agent_checks();
    ttt_checks();
    cb_checks();
    metric_checks();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
