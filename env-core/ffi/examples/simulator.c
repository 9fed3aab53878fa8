/*
 * A small "firmware-like simulator" in C on top of env-core's C ABI: it plays UCB on a 10-arm
 * Gaussian bandit for one episode, prints the prompt an LLM would see at step 10, and plays a
 * game of tic-tac-toe as minimax against an MCTS opponent.
 *
 * Every object lives in this program's storage (statics here; the stack works as well): no
 * allocator is involved. Its output must equal, byte for byte, what env-core's Rust API
 * produces for the same seeds (examples/simulator.expected; tools/check-firmware.sh diffs).
 *
 * Build (from the repository root, after `cargo build --release -p env-core-ffi`):
 *   cc -std=c11 -Wall -Wextra -Ienv-core/ffi/include env-core/ffi/examples/simulator.c \
 *      target/release/libenv_core_ffi.a -lm -lpthread -ldl -o simulator
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env_core.h"

#define SCENARIO 7
#define EPISODE 11
#define GAME 3
#define SIMULATIONS 200
#define PROMPT_STEP 10
#define HORIZON 50
#define ARMS 10

/* Stops the program with the status name when a call fails. */
static void check(EcStatus status, const char *what) {
    if (status != EC_STATUS_OK) {
        fprintf(stderr, "%s failed: %s (%s)\n", what, ec_status_name(status), ec_status_message(status));
        exit(1);
    }
}

static uint64_t bits(double x) {
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static EcMab mab;
static EcBanditAgent ucb;
static EcTtt ttt;
static EcTttPlayer minimax;

/* Writes the label of `arm` into `label` (64 bytes). */
static void label_of(size_t arm, char *label) {
    size_t len;
    check(ec_mab_label(&mab, arm, label, 64, &len), "ec_mab_label");
}

static void bandit(void) {
    const EcMabConfig config = {ARMS, HORIZON, EC_DIST_GAUSSIAN, 1.0, EC_LABELS_BUTTONS};
    check(ec_mab_init(&mab, &config, SCENARIO), "ec_mab_init");
    const EcBanditAgentConfig agent = {EC_AGENT_UCB, 1.0, 0.0, 0.0, 0, 0.0};
    check(ec_bandit_agent_init(&ucb, &agent), "ec_bandit_agent_init");

    printf("== bandit: %d arms, Gaussian sigma 1, horizon %d, scenario %d, episode seed %d, UCB c=1\n",
           ARMS, HORIZON, SCENARIO, EPISODE);
    char label[64];
    printf("labels: ");
    for (size_t a = 0; a < ARMS; a++) {
        label_of(a, label);
        printf("%s%s", a ? ", " : "", label);
    }
    printf("\n");
    double means[ARMS];
    size_t best;
    check(ec_mab_means(&mab, means, ARMS), "ec_mab_means");
    check(ec_mab_best_arm(&mab, &best), "ec_mab_best_arm");
    label_of(best, label);
    printf("best arm: %zu (%s), mean %.6f\n", best, label, means[best]);

    /* One episode: the bandit and the agent are reset with the same episode seed. */
    size_t actions[HORIZON];
    double rewards[HORIZON];
    check(ec_mab_reset(&mab, EPISODE), "ec_mab_reset");
    check(ec_bandit_agent_reset(&ucb, ARMS, EPISODE), "ec_bandit_agent_reset");
    for (size_t t = 0; t < HORIZON; t++) {
        EcMabStep step;
        check(ec_bandit_agent_select(&ucb, &actions[t]), "ec_bandit_agent_select");
        check(ec_mab_step(&mab, actions[t], &step), "ec_mab_step");
        check(ec_bandit_agent_update(&ucb, actions[t], step.reward), "ec_bandit_agent_update");
        rewards[t] = step.reward;
        label_of(actions[t], label);
        printf("step %2zu: arm %zu (%s) reward %+.6f [%016" PRIx64 "]\n", t, actions[t], label, step.reward,
               bits(step.reward));
    }
    double curve[HORIZON], regret, coverage;
    check(ec_cumulative_regret(means, ARMS, actions, HORIZON, curve, HORIZON, &regret), "ec_cumulative_regret");
    printf("cumulative regret: %.6f [%016" PRIx64 "]\n", regret, bits(regret));
    check(ec_coverage_curve(ARMS, actions, HORIZON, curve, HORIZON, &coverage), "ec_coverage_curve");
    printf("coverage: %.6f\n", coverage);

    /* The prompt at step PROMPT_STEP: ask for its length first, then render it. */
    EcPromptOptions options;
    check(ec_prompt_options_default(&options), "ec_prompt_options_default");
    size_t needed;
    EcStatus s = ec_mab_prompt(&mab, &options, actions, rewards, PROMPT_STEP, NULL, 0, &needed);
    if (s != EC_STATUS_BUFFER_TOO_SMALL) check(s, "ec_mab_prompt (length)");
    static char prompt[8192];
    if (needed + 1 > sizeof prompt) {
        fprintf(stderr, "prompt of %zu bytes does not fit\n", needed);
        exit(1);
    }
    size_t len;
    check(ec_mab_prompt(&mab, &options, actions, rewards, PROMPT_STEP, prompt, needed + 1, &len), "ec_mab_prompt");
    printf("== the prompt at step %d (%zu bytes)\n", PROMPT_STEP, len);
    fwrite(prompt, 1, len, stdout);
}

static void game(void) {
    const EcTttConfig config = {EC_PLAYER_MCTS, SIMULATIONS, 0.0, EC_FIRST_AGENT};
    check(ec_ttt_init(&ttt, &config), "ec_ttt_init");
    const EcTttPlayerConfig player = {EC_PLAYER_MINIMAX, 0, 0.0};
    check(ec_ttt_player_init(&minimax, &player, GAME), "ec_ttt_player_init");
    printf("== tic-tac-toe: minimax (agent, seed %d) against MCTS (%d simulations), game seed %d\n", GAME,
           SIMULATIONS, GAME);
    check(ec_ttt_reset(&ttt, GAME), "ec_ttt_reset");
    EcTttStep step = {0};
    char board[10];
    size_t len;
    for (int turn = 1; !step.terminated; turn++) {
        size_t pos;
        check(ec_ttt_board(&ttt, board, sizeof board, &len), "ec_ttt_board");
        check(ec_ttt_player_choose(&minimax, board, len, 1, &pos), "ec_ttt_player_choose");
        check(ec_ttt_step(&ttt, pos, &step), "ec_ttt_step");
        check(ec_ttt_board(&ttt, board, sizeof board, &len), "ec_ttt_board");
        char reply[12] = "-";
        if (step.opponent_move >= 0) snprintf(reply, sizeof reply, "%d", (int)step.opponent_move);
        printf("move %d: agent %zu, opponent %s -> %s\n", turn, pos, reply, board);
    }
    const char *names[] = {"none", "win", "draw", "loss"};
    printf("outcome: %s, reward %d\n", names[step.outcome], (int)step.reward);
}

int main(void) {
    bandit();
    game();
    printf("== end\n");
    return 0;
}
