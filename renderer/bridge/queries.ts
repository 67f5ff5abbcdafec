import { keepPreviousData, useMutation, useQuery, useQueryClient, type UseQueryOptions } from '@tanstack/react-query';
import type { AppError } from '../../shared/errors';
import type { ChannelInput, ChannelOutput, MainChannel } from '../../shared/ipc/contract';
import { useBridge } from './bridge-context';
import { toAppError } from './console-bridge';

/** Query keys are `[channel, input]`: invalidating by channel refetches every variant of it. */
export const channelKey = <C extends MainChannel>(channel: C, input?: ChannelInput<C>) =>
  (input === undefined ? [channel] : [channel, input]) as readonly unknown[];

type QueryOpts<C extends MainChannel> = Omit<UseQueryOptions<ChannelOutput<C>, AppError>, 'queryKey' | 'queryFn'> & { keepPrevious?: boolean };

export function useChannel<C extends MainChannel>(channel: C, input: ChannelInput<C>, options: QueryOpts<C> = {}) {
  const bridge = useBridge();
  const { keepPrevious, ...rest } = options;
  return useQuery<ChannelOutput<C>, AppError>({
    queryKey: channelKey(channel, input),
    queryFn: async () => {
      try {
        return await bridge.call(channel, input);
      } catch (error) {
        throw toAppError(error);
      }
    },
    ...(keepPrevious ? { placeholderData: keepPreviousData } : {}),
    ...rest,
  });
}

/** Channels whose data a decision or review can change. */
export const DECISION_AFFECTS: MainChannel[] = [
  'console:main:list-inbox',
  'console:main:get-request',
  'console:main:list-active',
  'console:main:list-reviews',
  'console:main:list-requests',
  'console:main:query-ledger',
];

export function useChannelMutation<C extends MainChannel>(channel: C, invalidates: MainChannel[] = DECISION_AFFECTS) {
  const bridge = useBridge();
  const client = useQueryClient();
  return useMutation<ChannelOutput<C>, AppError, ChannelInput<C>>({
    mutationFn: async (input) => {
      try {
        return await bridge.call(channel, input);
      } catch (error) {
        throw toAppError(error);
      }
    },
    onSettled: async () => {
      await Promise.all(invalidates.map((c) => client.invalidateQueries({ queryKey: [c] })));
    },
  });
}
