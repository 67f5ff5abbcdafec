import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, useQueryClient, type InfiniteData, type UseQueryOptions } from '@tanstack/react-query';
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

/** Channels answered a page at a time: their input takes a `cursor`, their output names the next page's. */
type PagedChannel = {
  [C in MainChannel]: ChannelOutput<C> extends { nextCursor: string | null } ? (ChannelInput<C> extends { cursor?: string } ? C : never) : never;
}[MainChannel];

/**
 * A paged channel's pages so far: the first page of `input`, then each next page on
 * fetchNextPage (hasNextPage while the last page names one). Its key extends the channel's, so
 * invalidating the channel refetches the pages loaded, from the first.
 */
export function useChannelPages<C extends PagedChannel>(channel: C, input: Omit<ChannelInput<C>, 'cursor'>, options: { keepPrevious?: boolean } = {}) {
  const bridge = useBridge();
  return useInfiniteQuery<ChannelOutput<C>, AppError, InfiniteData<ChannelOutput<C>, string | null>, readonly unknown[], string | null>({
    queryKey: [...channelKey(channel, input as ChannelInput<C>), 'pages'],
    initialPageParam: null,
    queryFn: async ({ pageParam }) => {
      try {
        return await bridge.call(channel, { ...input, ...(pageParam === null ? {} : { cursor: pageParam }) } as ChannelInput<C>);
      } catch (error) {
        throw toAppError(error);
      }
    },
    getNextPageParam: (last) => (last as { nextCursor: string | null }).nextCursor,
    ...(options.keepPrevious ? { placeholderData: keepPreviousData } : {}),
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
