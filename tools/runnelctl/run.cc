// Dispatches a parsed invocation to its command.
#include <cstdio>
#include <type_traits>

#include "tools/runnelctl/commands.h"

namespace runnel::ctl {

int run(const invocation& inv) {
    return std::visit(
        [&](const auto& cmd) -> int {
            using T = std::decay_t<decltype(cmd)>;
            if constexpr (std::is_same_v<T, topic_create_command>) {
                return run_topic_create(inv.global, cmd);
            } else if constexpr (std::is_same_v<T, topic_list_command>) {
                return run_topic_list(inv.global, cmd);
            } else if constexpr (std::is_same_v<T, topic_describe_command>) {
                return run_topic_describe(inv.global, cmd);
            } else if constexpr (std::is_same_v<T, topic_delete_command>) {
                return run_topic_delete(inv.global, cmd);
            } else if constexpr (std::is_same_v<T, topic_alter_config_command>) {
                return run_topic_alter_config(inv.global, cmd);
            } else if constexpr (std::is_same_v<T, produce_command>) {
                return run_produce(inv.global, cmd, stdin);
            } else if constexpr (std::is_same_v<T, consume_command>) {
                return run_consume(inv.global, cmd);
            } else if constexpr (std::is_same_v<T, group_list_command>) {
                return run_group_list(inv.global, cmd);
            } else if constexpr (std::is_same_v<T, group_describe_command>) {
                return run_group_describe(inv.global, cmd);
            } else if constexpr (std::is_same_v<T, group_delete_command>) {
                return run_group_delete(inv.global, cmd);
            } else {
                static_assert(std::is_same_v<T, group_reset_offsets_command>);
                return run_group_reset_offsets(inv.global, cmd);
            }
        },
        inv.what);
}

} // namespace runnel::ctl
